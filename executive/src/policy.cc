// The policy module is header-only and constexpr (pb/executive/policy.h,
// pb/executive/preempt_count.h) so that the executive's fast paths inline it:
// decide() runs at every preempt_enable(). This translation unit compiles both
// headers stand-alone and pins a few facts of the kernel's preemption code at
// compile time, so a change that breaks them fails the library build, not only
// tests/policy_test.cc (which checks the whole table).
#include "pb/executive/policy.h"

#include "pb/executive/preempt_count.h"

namespace pb::exec {
namespace {

constexpr Context kPending{.preempt_count = 0, .irqs_disabled = false, .flags = {true, false}};
constexpr Context kLazyPending{.preempt_count = 0, .irqs_disabled = false, .flags = {false, true}};
constexpr Context kPendingInLock{.preempt_count = kPreemptOffset, .flags = {true, false}};

// __cond_resched() (kernel/sched/core.c) is a preemption point only without
// CONFIG_PREEMPTION.
static_assert(decide(Model::kNone, Point::kCondResched, kPending).switch_now);
static_assert(!decide(Model::kFull, Point::kCondResched, kPending).switch_now);
// preempt_enable() reaching 0 preempts only with CONFIG_PREEMPTION
// (include/linux/preempt.h).
static_assert(!decide(Model::kVoluntary, Point::kPreemptEnable, kPending).switch_now);
static_assert(decide(Model::kRt, Point::kPreemptEnable, kPending).switch_now);
// LAZY's lazy flag waits for the return to user (exit_to_user_mode_loop(),
// kernel/entry/common.c).
static_assert(!decide(Model::kLazy, Point::kIrqExitToKernel, kLazyPending).switch_now);
static_assert(decide(Model::kLazy, Point::kReturnToUser, kLazyPending).switch_now);
// The nested-lock rule: no preemption with the count raised.
static_assert(decide(Model::kFull, Point::kIrqExitToKernel, kPendingInLock) ==
              Decision{false, Reason::kCountNonZero});
// PREEMPT_LOCK_OFFSET is 0 on RT: locks there do not disable preemption
// (include/linux/preempt.h).
static_assert(preempt_lock_offset(Model::kRt) == 0 && preempt_lock_offset(Model::kNone) == 1);
// IRQ threads run at SCHED_FIFO 50 (sched_set_fifo(), kernel/irq/manage.c).
static_assert(kIrqThreadPriority == 50);

}  // namespace
}  // namespace pb::exec
