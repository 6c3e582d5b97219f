// The executive's preemption policy against the kernel's rules (Linux 6.18:
// kernel/sched/core.c, kernel/entry/common.c, include/linux/preempt.h,
// kernel/irq/manage.c, kernel/softirq.c, kernel/locking/). The switch-point
// table (which point switches in which model) is written below as data, and every
// model × point × context is checked against it; hand-written rows, scenarios
// and per-model tables cover the rest. Nothing here calls back into the
// implementation to compute an expected value.
#include "pb/executive/policy.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pb/executive/preempt_count.h"

namespace {

using pb::exec::Context;
using pb::exec::Decision;
using pb::exec::LockImpl;
using pb::exec::LockType;
using pb::exec::Model;
using pb::exec::Point;
using pb::exec::Reason;
using pb::exec::Resched;
using pb::exec::ReschedAction;
using pb::exec::ReschedFlags;
using pb::exec::SchedClass;
using pb::exec::SoftirqNext;
using pb::exec::SoftirqPlacement;
using pb::exec::TaskClass;
using pb::exec::Wakeup;
using pb::exec::WakeupAction;

constexpr Model kModels[] = {Model::kNone, Model::kVoluntary, Model::kFull, Model::kLazy,
                             Model::kRt};
constexpr Point kPoints[] = {Point::kCondResched,     Point::kMightResched, Point::kPreemptEnable,
                             Point::kIrqExitToKernel, Point::kReturnToUser, Point::kSchedule};

constexpr ReschedFlags kFlagsNone{false, false};
constexpr ReschedFlags kFlagsFull{true, false};
constexpr ReschedFlags kFlagsLazy{false, true};
constexpr ReschedFlags kFlagsBoth{true, true};

std::string Describe(Model m, Point p, const Context& c) {
  char count[16];
  std::snprintf(count, sizeof count, "0x%x", c.preempt_count);
  return std::string(pb::exec::to_string(m)) + " / " + std::string(pb::exec::to_string(p)) +
         " / count=" + count + (c.irqs_disabled ? " irqs-off" : " irqs-on") +
         (c.flags.need_resched ? " FULL" : "") + (c.flags.need_resched_lazy ? " LAZY" : "");
}

// --- names ----------------------------------------------------------------------------

TEST(PolicyNames, ModelsRoundTrip) {
  const char* names[] = {"none", "voluntary", "full", "lazy", "rt"};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(pb::exec::to_string(kModels[i]), names[i]);
    ASSERT_TRUE(pb::exec::parse_model(names[i]).has_value());
    EXPECT_EQ(*pb::exec::parse_model(names[i]), kModels[i]);
  }
  EXPECT_EQ(pb::exec::kAllModels.size(), 5u);
}

TEST(PolicyNames, ParseRejectsAnythingElse) {
  for (const char* bad :
       {"", "None", "FULL", "preempt", "rt ", " lazy", "preempt_rt", "voluntar", "fullx"}) {
    EXPECT_FALSE(pb::exec::parse_model(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(PolicyNames, PointsReasonsAndFlagsAreNamed) {
  const char* points[] = {"cond_resched",       "might_resched",  "preempt_enable",
                          "irq_exit_to_kernel", "return_to_user", "schedule"};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(pb::exec::to_string(kPoints[i]), points[i]);
  EXPECT_EQ(pb::exec::kAllPoints.size(), 6u);
  EXPECT_EQ(pb::exec::to_string(Reason::kCountNonZero), "count_nonzero");
  EXPECT_EQ(pb::exec::to_string(Reason::kModelIgnoresPoint), "model_ignores_point");
  EXPECT_EQ(pb::exec::to_string(Reason::kLazyOnly), "lazy_only");
  EXPECT_EQ(pb::exec::to_string(Resched::kLazy), "lazy");
}

// --- the switch-point table ---------------------------------------------------------------

// What a cell of the table means.
enum class Cell {
  kNo,      // "no", "no-op", "debug only": never switches
  kFull,    // __cond_resched / preempt_schedule / preempt_schedule_irq / "yes (full flag only)":
            // full flag, kernel preempt_count() 0, IRQs on
  kEither,  // return to user: either flag (K18 exit_to_user_mode_loop), count not consulted
  kBlock,   // schedule(): always
};

// Rows in kPoints order, columns NONE VOLUNTARY FULL LAZY RT.
// clang-format off
// No: never; Fu: full flag, count 0, IRQs on; E: either flag; B: always.
constexpr Cell No = Cell::kNo, Fu = Cell::kFull, E = Cell::kEither, B = Cell::kBlock;
constexpr Cell kTable[6][5] = {
    //                         NONE  VOLUNTARY  FULL  LAZY  RT
    /* cond_resched()      */ {Fu,   Fu,        No,   No,   No},
    /* might_resched()     */ {No,   Fu,        No,   No,   No},
    /* preempt_enable()->0 */ {No,   No,        Fu,   Fu,   Fu},
    /* irq return, kernel  */ {No,   No,        Fu,   Fu,   Fu},
    /* return to user      */ {E,    E,         E,    E,    E},
    /* block / schedule()  */ {B,    B,         B,    B,    B},
};
// clang-format on

// The kernel's preempt_count() for a word: on RT the SOFTIRQ field (bits 8-15)
// is the task's softirq_disable_cnt, not part of preempt_count()
// (include/linux/preempt.h).
uint32_t KernelCount(uint32_t word, Model m) {
  return m == Model::kRt ? (word & ~0x0000ff00u) : word;
}

// The expected decision for one cell. The reason when several conditions fail
// is the first of: flags, count, IRQs (the documented order).
Decision Expected(Cell cell, Model m, const Context& c) {
  switch (cell) {
    case Cell::kNo:
      return {false, Reason::kModelIgnoresPoint};
    case Cell::kBlock:
      return {true, Reason::kBlocking};
    case Cell::kEither:
      if (c.flags.need_resched) return {true, Reason::kNeedResched};
      if (c.flags.need_resched_lazy) return {true, Reason::kNeedReschedLazy};
      return {false, Reason::kNoReschedPending};
    case Cell::kFull:
      if (!c.flags.need_resched) {
        return {false, c.flags.need_resched_lazy ? Reason::kLazyOnly : Reason::kNoReschedPending};
      }
      if (KernelCount(c.preempt_count, m) != 0) return {false, Reason::kCountNonZero};
      if (c.irqs_disabled) return {false, Reason::kIrqsDisabled};
      return {true, Reason::kNeedResched};
  }
  return {};
}

std::vector<uint32_t> InterestingCounts() {
  std::vector<uint32_t> counts = {
      0x0,       // nothing held
      0x2,       // nested preempt_disable / two spinlocks
      0xff,      // deepest preempt_disable nesting
      0x101,     // preempt off while serving a softirq
      0x201,     // spin_lock_bh (non-RT), raw_spin_lock_bh (RT)
      0x300,     // local_bh_disable inside a softirq
      0x10001,   // hardirq over a spinlock
      0x10100,   // hardirq over a softirq
      0x10200,   // hardirq over BH-off
      0x20000,   // nested hardirq
      0x110000,  // nmi_enter
      0x120201,  // NMI over hardirq over spin_lock_bh
  };
  for (int bit = 0; bit < 24; ++bit) counts.push_back(1u << bit);  // every field bit alone
  return counts;
}

TEST(PolicyDecide, EveryModelPointAndContextMatchesTable) {
  const std::vector<uint32_t> counts = InterestingCounts();
  const ReschedFlags flag_sets[] = {kFlagsNone, kFlagsFull, kFlagsLazy, kFlagsBoth};
  size_t checked = 0;
  size_t switches = 0;
  for (int mi = 0; mi < 5; ++mi) {
    for (int pi = 0; pi < 6; ++pi) {
      for (uint32_t count : counts) {
        for (bool irqs_off : {false, true}) {
          for (ReschedFlags flags : flag_sets) {
            const Context c{.preempt_count = count, .irqs_disabled = irqs_off, .flags = flags};
            const Decision want = Expected(kTable[pi][mi], kModels[mi], c);
            const Decision got = pb::exec::decide(kModels[mi], kPoints[pi], c);
            EXPECT_EQ(got.switch_now, want.switch_now) << Describe(kModels[mi], kPoints[pi], c);
            EXPECT_EQ(got.reason, want.reason) << Describe(kModels[mi], kPoints[pi], c);
            ++checked;
            switches += got.switch_now ? 1 : 0;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 5u * 6u * counts.size() * 2u * 4u);
  EXPECT_GT(switches, 0u);
  RecordProperty("combinations", static_cast<int>(checked));
}

// Hand-written rows, each read off the kernel's points and flags directly.
struct Row {
  Model model;
  Point point;
  uint32_t count;
  bool irqs_off;
  ReschedFlags flags;
  Decision want;
};

// clang-format off
constexpr Row kRows[] = {
    // NONE: only cond_resched, return to user and blocking.
    {Model::kNone, Point::kCondResched, 0, false, kFlagsFull, {true, Reason::kNeedResched}},
    {Model::kNone, Point::kCondResched, 1, false, kFlagsFull, {false, Reason::kCountNonZero}},
    {Model::kNone, Point::kCondResched, 0x200, false, kFlagsFull, {false, Reason::kCountNonZero}},
    {Model::kNone, Point::kCondResched, 0, true, kFlagsFull, {false, Reason::kIrqsDisabled}},
    {Model::kNone, Point::kCondResched, 0, false, kFlagsNone, {false, Reason::kNoReschedPending}},
    {Model::kNone, Point::kMightResched, 0, false, kFlagsFull, {false, Reason::kModelIgnoresPoint}},
    {Model::kNone, Point::kPreemptEnable, 0, false, kFlagsFull, {false, Reason::kModelIgnoresPoint}},
    {Model::kNone, Point::kIrqExitToKernel, 0, false, kFlagsFull, {false, Reason::kModelIgnoresPoint}},
    {Model::kNone, Point::kReturnToUser, 0, false, kFlagsFull, {true, Reason::kNeedResched}},
    {Model::kNone, Point::kReturnToUser, 0, false, kFlagsNone, {false, Reason::kNoReschedPending}},
    {Model::kNone, Point::kSchedule, 0, false, kFlagsNone, {true, Reason::kBlocking}},
    // VOLUNTARY: adds might_resched.
    {Model::kVoluntary, Point::kMightResched, 0, false, kFlagsFull, {true, Reason::kNeedResched}},
    {Model::kVoluntary, Point::kMightResched, 1, false, kFlagsFull, {false, Reason::kCountNonZero}},
    {Model::kVoluntary, Point::kCondResched, 0, false, kFlagsFull, {true, Reason::kNeedResched}},
    {Model::kVoluntary, Point::kPreemptEnable, 0, false, kFlagsFull,
     {false, Reason::kModelIgnoresPoint}},
    // FULL: cond_resched is a no-op; preempt_enable and irq exit preempt.
    {Model::kFull, Point::kCondResched, 0, false, kFlagsFull, {false, Reason::kModelIgnoresPoint}},
    {Model::kFull, Point::kMightResched, 0, false, kFlagsFull, {false, Reason::kModelIgnoresPoint}},
    {Model::kFull, Point::kPreemptEnable, 0, false, kFlagsFull, {true, Reason::kNeedResched}},
    {Model::kFull, Point::kPreemptEnable, 1, false, kFlagsFull, {false, Reason::kCountNonZero}},
    {Model::kFull, Point::kPreemptEnable, 0, true, kFlagsFull, {false, Reason::kIrqsDisabled}},
    {Model::kFull, Point::kIrqExitToKernel, 0, false, kFlagsFull, {true, Reason::kNeedResched}},
    {Model::kFull, Point::kIrqExitToKernel, 0x100, false, kFlagsFull, {false, Reason::kCountNonZero}},
    {Model::kFull, Point::kIrqExitToKernel, 0x200, false, kFlagsFull, {false, Reason::kCountNonZero}},
    {Model::kFull, Point::kIrqExitToKernel, 0x10000, false, kFlagsFull, {false, Reason::kCountNonZero}},
    {Model::kFull, Point::kIrqExitToKernel, 0, true, kFlagsFull, {false, Reason::kIrqsDisabled}},
    // LAZY: the lazy flag is seen only at return to user.
    {Model::kLazy, Point::kPreemptEnable, 0, false, kFlagsLazy, {false, Reason::kLazyOnly}},
    {Model::kLazy, Point::kIrqExitToKernel, 0, false, kFlagsLazy, {false, Reason::kLazyOnly}},
    {Model::kLazy, Point::kPreemptEnable, 0, false, kFlagsBoth, {true, Reason::kNeedResched}},
    {Model::kLazy, Point::kIrqExitToKernel, 0, false, kFlagsFull, {true, Reason::kNeedResched}},
    {Model::kLazy, Point::kCondResched, 0, false, kFlagsFull, {false, Reason::kModelIgnoresPoint}},
    {Model::kLazy, Point::kReturnToUser, 0, false, kFlagsLazy, {true, Reason::kNeedReschedLazy}},
    {Model::kLazy, Point::kReturnToUser, 0, false, kFlagsBoth, {true, Reason::kNeedResched}},
    {Model::kLazy, Point::kSchedule, 0, false, kFlagsLazy, {true, Reason::kBlocking}},
    // RT: spinlock_t and BH-off leave preempt_count() at 0.
    {Model::kRt, Point::kIrqExitToKernel, 0x200, false, kFlagsFull, {true, Reason::kNeedResched}},
    {Model::kRt, Point::kIrqExitToKernel, 0x100, false, kFlagsFull, {true, Reason::kNeedResched}},
    {Model::kRt, Point::kPreemptEnable, 0x200, false, kFlagsFull, {true, Reason::kNeedResched}},
    {Model::kRt, Point::kIrqExitToKernel, 0x201, false, kFlagsFull, {false, Reason::kCountNonZero}},
    {Model::kRt, Point::kIrqExitToKernel, 0x10000, false, kFlagsFull, {false, Reason::kCountNonZero}},
    {Model::kRt, Point::kPreemptEnable, 0, false, kFlagsLazy, {false, Reason::kLazyOnly}},
    {Model::kRt, Point::kCondResched, 0, false, kFlagsFull, {false, Reason::kModelIgnoresPoint}},
    {Model::kRt, Point::kMightResched, 0, false, kFlagsFull, {false, Reason::kModelIgnoresPoint}},
    // Return to user and schedule() ignore the count and the IRQ state.
    {Model::kFull, Point::kReturnToUser, 3, true, kFlagsFull, {true, Reason::kNeedResched}},
    {Model::kLazy, Point::kReturnToUser, 3, true, kFlagsLazy, {true, Reason::kNeedReschedLazy}},
    {Model::kRt, Point::kSchedule, 0x10003, true, kFlagsNone, {true, Reason::kBlocking}},
    {Model::kNone, Point::kSchedule, 1, true, kFlagsNone, {true, Reason::kBlocking}},
};
// clang-format on

TEST(PolicyDecide, HandWrittenRows) {
  for (const Row& r : kRows) {
    const Context c{.preempt_count = r.count, .irqs_disabled = r.irqs_off, .flags = r.flags};
    EXPECT_EQ(pb::exec::decide(r.model, r.point, c), r.want) << Describe(r.model, r.point, c);
  }
}

TEST(PolicyDecide, IrqExitPointFollowsInterruptedMode) {
  EXPECT_EQ(pb::exec::irq_exit_point(true), Point::kReturnToUser);
  EXPECT_EQ(pb::exec::irq_exit_point(false), Point::kIrqExitToKernel);
  // An interrupt that hits user code reschedules on the way back in every model
  // (irqentry_exit_to_user_mode() -> exit_to_user_mode_loop(), every model).
  for (Model m : kModels) {
    const Context c{.flags = kFlagsFull};
    EXPECT_TRUE(pb::exec::decide(m, pb::exec::irq_exit_point(true), c).switch_now)
        << pb::exec::to_string(m);
    EXPECT_EQ(pb::exec::decide(m, pb::exec::irq_exit_point(false), c).switch_now,
              m == Model::kFull || m == Model::kLazy || m == Model::kRt)
        << pb::exec::to_string(m);
  }
}

// --- the nested-lock rule ---------------------------------------------------------------

// A reschedule requested while the count is 1 does not switch; it switches at
// the preempt_enable() that brings the count to 0 (FULL/LAZY/RT), or at the
// next cond_resched() (NONE/VOLUNTARY).
TEST(PolicyNestedLock, RawSpinlockDefersUntilCountReachesZero) {
  for (Model m : kModels) {
    SCOPED_TRACE(pb::exec::to_string(m));
    const uint32_t off = pb::exec::lock_preempt_offset(m, LockType::kRawSpinlock);
    ASSERT_EQ(off, 1u);
    Context c{.preempt_count = off};  // raw_spin_lock()
    c.preempt_count += off;           // a second, nested
    // An RT task wakes up on this CPU: the full flag.
    c.flags = pb::exec::with_flag(c.flags, Resched::kFull);
    const bool preemptive = m == Model::kFull || m == Model::kLazy || m == Model::kRt;
    const Reason ignored_or_count = preemptive ? Reason::kCountNonZero : Reason::kModelIgnoresPoint;
    // The tick interrupts the critical section.
    EXPECT_EQ(pb::exec::decide(m, Point::kIrqExitToKernel, c), (Decision{false, ignored_or_count}));
    // Inner unlock: 2 -> 1.
    c.preempt_count -= off;
    EXPECT_EQ(pb::exec::decide(m, Point::kPreemptEnable, c), (Decision{false, ignored_or_count}));
    // Outer unlock: 1 -> 0.
    c.preempt_count -= off;
    EXPECT_EQ(pb::exec::decide(m, Point::kPreemptEnable, c).switch_now, preemptive);
    if (!preemptive) {
      EXPECT_EQ(pb::exec::decide(m, Point::kCondResched, c),
                (Decision{true, Reason::kNeedResched}));
    }
  }
}

TEST(PolicyNestedLock, SpinlockTIsPreemptibleOnlyOnRt) {
  for (Model m : {Model::kFull, Model::kLazy, Model::kRt}) {
    SCOPED_TRACE(pb::exec::to_string(m));
    const Context c{.preempt_count = pb::exec::lock_preempt_offset(m, LockType::kSpinlock),
                    .flags = kFlagsFull};
    EXPECT_EQ(pb::exec::decide(m, Point::kIrqExitToKernel, c).switch_now, m == Model::kRt);
  }
  // spin_lock_bh() on RT: BH count in the task, preempt_count() 0.
  const Context bh{.preempt_count = pb::exec::softirq_lock_offset(Model::kRt), .flags = kFlagsFull};
  EXPECT_TRUE(pb::exec::decide(Model::kRt, Point::kIrqExitToKernel, bh).switch_now);
  const Context bh_full{.preempt_count = pb::exec::softirq_lock_offset(Model::kFull),
                        .flags = kFlagsFull};
  EXPECT_FALSE(pb::exec::decide(Model::kFull, Point::kIrqExitToKernel, bh_full).switch_now);
}

TEST(PolicyNestedLock, LocalIrqDisableBlocksPreemptionWithoutTouchingCount) {
  // local_irq_disable(); ...; preempt_disable(); preempt_enable() at count 0
  // with IRQs still off: no switch (preemptible() is false), and
  // local_irq_enable() itself is no preemption point (irqflags.h:200-204).
  const Context c{.preempt_count = 0, .irqs_disabled = true, .flags = kFlagsFull};
  EXPECT_EQ(pb::exec::decide(Model::kFull, Point::kPreemptEnable, c),
            (Decision{false, Reason::kIrqsDisabled}));
}

// --- LAZY and the tick ----------------------------------------------------------------------

TEST(PolicyLazy, PromotionAtTick) {
  for (Model m : kModels) {
    SCOPED_TRACE(pb::exec::to_string(m));
    EXPECT_EQ(pb::exec::promote_lazy_at_tick(m, kFlagsLazy), m == Model::kLazy);
    EXPECT_FALSE(pb::exec::promote_lazy_at_tick(m, kFlagsNone));
    EXPECT_FALSE(pb::exec::promote_lazy_at_tick(m, kFlagsFull));
    EXPECT_FALSE(pb::exec::promote_lazy_at_tick(m, kFlagsBoth));  // already full: nothing to do
  }
}

TEST(PolicyLazy, ReschedCurrLazyFlagPerModel) {
  const Resched want[] = {Resched::kFull, Resched::kFull, Resched::kFull, Resched::kLazy,
                          Resched::kFull};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(pb::exec::resched_curr_lazy_flag(kModels[i]), want[i]);
}

// A fair task's slice runs out at tick N (update_curr -> resched_curr_lazy()).
// sched_tick() checks for promotion before task_tick(), so under LAZY the
// kernel code running at count 0 is preempted at tick N+1; under FULL at tick N.
TEST(PolicyLazy, SliceExhaustionPreemptsKernelCodeOneTickLater) {
  for (Model m : {Model::kFull, Model::kLazy}) {
    SCOPED_TRACE(pb::exec::to_string(m));
    ReschedFlags flags = kFlagsNone;
    int preempted_at_tick = -1;
    for (int tick = 0; tick < 3 && preempted_at_tick < 0; ++tick) {
      if (pb::exec::promote_lazy_at_tick(m, flags)) {
        flags = pb::exec::with_flag(flags, Resched::kFull);
      }
      if (tick == 0) {  // task_tick(): the slice is exhausted now
        const ReschedAction a = pb::exec::resched_curr(pb::exec::resched_curr_lazy_flag(m), flags,
                                                       /*target_is_idle=*/false, /*remote=*/false);
        flags = pb::exec::with_flag(flags, a.set);
        EXPECT_FALSE(a.ipi);
      }
      const Context c{.preempt_count = 0, .flags = flags};
      if (pb::exec::decide(m, Point::kIrqExitToKernel, c).switch_now) preempted_at_tick = tick;
    }
    EXPECT_EQ(preempted_at_tick, m == Model::kLazy ? 1 : 0);
  }
}

TEST(PolicyLazy, LazyFlagWaitsForUserReturnTickOrBlock) {
  const Context c{.preempt_count = 0, .flags = kFlagsLazy};
  EXPECT_FALSE(pb::exec::decide(Model::kLazy, Point::kPreemptEnable, c).switch_now);
  EXPECT_FALSE(pb::exec::decide(Model::kLazy, Point::kIrqExitToKernel, c).switch_now);
  EXPECT_FALSE(pb::exec::decide(Model::kLazy, Point::kCondResched, c).switch_now);
  EXPECT_TRUE(pb::exec::decide(Model::kLazy, Point::kReturnToUser, c).switch_now);
  EXPECT_TRUE(pb::exec::decide(Model::kLazy, Point::kSchedule, c).switch_now);
  EXPECT_TRUE(pb::exec::promote_lazy_at_tick(Model::kLazy, c.flags));
}

// --- __resched_curr and wakeups ------------------------------------------------------------

TEST(PolicyResched, ReschedCurrRules) {
  // Local: set, no IPI.
  EXPECT_EQ(pb::exec::resched_curr(Resched::kFull, kFlagsNone, false, false),
            (ReschedAction{Resched::kFull, false}));
  EXPECT_EQ(pb::exec::resched_curr(Resched::kLazy, kFlagsNone, false, false),
            (ReschedAction{Resched::kLazy, false}));
  // Remote: IPI for the full flag only.
  EXPECT_EQ(pb::exec::resched_curr(Resched::kFull, kFlagsNone, false, true),
            (ReschedAction{Resched::kFull, true}));
  EXPECT_EQ(pb::exec::resched_curr(Resched::kLazy, kFlagsNone, false, true),
            (ReschedAction{Resched::kLazy, false}));
  // Already set: nothing (the IPI is coalesced).
  EXPECT_EQ(pb::exec::resched_curr(Resched::kFull, kFlagsFull, false, true), (ReschedAction{}));
  EXPECT_EQ(pb::exec::resched_curr(Resched::kLazy, kFlagsLazy, false, true), (ReschedAction{}));
  EXPECT_EQ(pb::exec::resched_curr(Resched::kLazy, kFlagsFull, false, true), (ReschedAction{}));
  // A full request over a pending lazy flag goes through, with its IPI.
  EXPECT_EQ(pb::exec::resched_curr(Resched::kFull, kFlagsLazy, false, true),
            (ReschedAction{Resched::kFull, true}));
  // The idle task always gets the full flag.
  EXPECT_EQ(pb::exec::resched_curr(Resched::kLazy, kFlagsNone, true, true),
            (ReschedAction{Resched::kFull, true}));
  EXPECT_EQ(pb::exec::resched_curr(Resched::kNone, kFlagsNone, true, true), (ReschedAction{}));
}

constexpr TaskClass Fair() { return {SchedClass::kFair, 0}; }
constexpr TaskClass Rt(int prio) { return {SchedClass::kRt, prio}; }
constexpr TaskClass Idle() { return {SchedClass::kIdle, 0}; }

TEST(PolicyWakeup, RemoteRtWakeupUnderFullSendsIpi) {
  const WakeupAction a =
      pb::exec::on_wakeup(Model::kFull, {.curr = Fair(), .wakee = Rt(50), .remote = true});
  EXPECT_EQ(a, (WakeupAction{Resched::kFull, {Resched::kFull, true}}));
}

TEST(PolicyWakeup, RemoteFairWakeupUnderLazySetsLazyAndSendsNoIpi) {
  const WakeupAction a = pb::exec::on_wakeup(
      Model::kLazy, {.curr = Fair(), .wakee = Fair(), .remote = true, .fair_wakee_wins = true});
  EXPECT_EQ(a, (WakeupAction{Resched::kLazy, {Resched::kLazy, false}}));
}

TEST(PolicyWakeup, RemoteFairWakeupUnderFullSetsFullAndSendsIpi) {
  const WakeupAction a = pb::exec::on_wakeup(
      Model::kFull, {.curr = Fair(), .wakee = Fair(), .remote = true, .fair_wakee_wins = true});
  EXPECT_EQ(a, (WakeupAction{Resched::kFull, {Resched::kFull, true}}));
}

TEST(PolicyWakeup, RtWakeupUnderLazySetsFull) {
  const WakeupAction a =
      pb::exec::on_wakeup(Model::kLazy, {.curr = Fair(), .wakee = Rt(1), .remote = true});
  EXPECT_EQ(a, (WakeupAction{Resched::kFull, {Resched::kFull, true}}));
}

// Per model, per (curr, wakee) pair, remote: the flag requested and whether an
// IPI goes out. Read off wakeup_preempt() and resched_curr(): higher class or
// higher RT priority -> full +
// IPI; fair beating fair -> lazy and no IPI under LAZY, full + IPI elsewhere;
// otherwise nothing.
TEST(PolicyWakeup, TablePerModelRemote) {
  struct Case {
    const char* what;
    TaskClass curr, wakee;
    bool fair_wins;
    Resched want[5];  // NONE VOLUNTARY FULL LAZY RT
  };
  const Resched F = Resched::kFull, L = Resched::kLazy, N = Resched::kNone;
  // clang-format off
  const Case cases[] = {
      {"fair beats fair", Fair(), Fair(), true, {F, F, F, L, F}},
      {"fair loses to fair", Fair(), Fair(), false, {N, N, N, N, N}},
      {"rt over fair", Fair(), Rt(10), false, {F, F, F, F, F}},
      {"rt over fair (fair verdict ignored)", Fair(), Rt(10), true, {F, F, F, F, F}},
      {"higher rt over rt", Rt(10), Rt(11), false, {F, F, F, F, F}},
      {"equal rt over rt", Rt(10), Rt(10), false, {N, N, N, N, N}},
      {"lower rt over rt", Rt(10), Rt(9), false, {N, N, N, N, N}},
      {"fair over rt", Rt(1), Fair(), true, {N, N, N, N, N}},
      {"fair over idle", Idle(), Fair(), false, {F, F, F, F, F}},
      {"rt over idle", Idle(), Rt(99), false, {F, F, F, F, F}},
  };
  // clang-format on
  for (const Case& k : cases) {
    for (int i = 0; i < 5; ++i) {
      SCOPED_TRACE(std::string(k.what) + " / " + std::string(pb::exec::to_string(kModels[i])));
      const WakeupAction a = pb::exec::on_wakeup(
          kModels[i],
          {.curr = k.curr, .wakee = k.wakee, .remote = true, .fair_wakee_wins = k.fair_wins});
      EXPECT_EQ(a.requested, k.want[i]);
      EXPECT_EQ(a.action.set, k.want[i]);
      EXPECT_EQ(a.action.ipi, k.want[i] == F);
      // Locally the same flag, never an IPI.
      const WakeupAction local = pb::exec::on_wakeup(
          kModels[i],
          {.curr = k.curr, .wakee = k.wakee, .remote = false, .fair_wakee_wins = k.fair_wins});
      EXPECT_EQ(local.action.set, k.want[i]);
      EXPECT_FALSE(local.action.ipi);
    }
  }
}

TEST(PolicyWakeup, PendingFlagsCoalesce) {
  // A second RT wakeup while the full flag is pending: no new IPI.
  WakeupAction a = pb::exec::on_wakeup(
      Model::kFull, {.curr = Fair(), .wakee = Rt(5), .remote = true, .curr_flags = kFlagsFull});
  EXPECT_EQ(a, (WakeupAction{Resched::kFull, {}}));
  // A fair wakeup under LAZY over a pending lazy flag: nothing.
  a = pb::exec::on_wakeup(Model::kLazy, {.curr = Fair(),
                                         .wakee = Fair(),
                                         .remote = true,
                                         .fair_wakee_wins = true,
                                         .curr_flags = kFlagsLazy});
  EXPECT_EQ(a, (WakeupAction{Resched::kLazy, {}}));
  // An RT wakeup under LAZY over a pending lazy flag: full + IPI.
  a = pb::exec::on_wakeup(
      Model::kLazy, {.curr = Fair(), .wakee = Rt(5), .remote = true, .curr_flags = kFlagsLazy});
  EXPECT_EQ(a, (WakeupAction{Resched::kFull, {Resched::kFull, true}}));
}

// What the target CPU does with the request, end to end (the reschedule IPI's
// handler, then irqentry_exit()): the IPI's irq exit preempts kernel code at count 0 under
// FULL/LAZY/RT; a lazy request waits; NONE/VOLUNTARY wait for a voluntary point.
TEST(PolicyWakeup, RemoteWakeupThenIpiExitOnTarget) {
  for (Model m : kModels) {
    SCOPED_TRACE(pb::exec::to_string(m));
    for (bool rt_wakee : {false, true}) {
      const WakeupAction a = pb::exec::on_wakeup(m, {.curr = Fair(),
                                                     .wakee = rt_wakee ? Rt(50) : Fair(),
                                                     .remote = true,
                                                     .fair_wakee_wins = true});
      const Context target{.preempt_count = 0, .flags = pb::exec::with_flag({}, a.action.set)};
      const bool preempts_kernel =
          (m == Model::kFull || m == Model::kRt || (m == Model::kLazy && rt_wakee));
      EXPECT_EQ(a.action.ipi, a.action.set == Resched::kFull);
      EXPECT_EQ(pb::exec::decide(m, Point::kIrqExitToKernel, target).switch_now, preempts_kernel);
      EXPECT_TRUE(pb::exec::decide(m, Point::kReturnToUser, target).switch_now);
    }
  }
}

// --- locks --------------------------------------------------------------------------------

TEST(PolicyLocks, MappingPerModel) {
  const LockType types[] = {LockType::kRawSpinlock, LockType::kSpinlock, LockType::kMutex,
                            LockType::kRtMutex};
  const LockImpl S = LockImpl::kSpinning, P = LockImpl::kSleepingPi, M = LockImpl::kSleepingNoPi;
  // clang-format off
  // Rows: models; columns: raw_spinlock_t, spinlock_t, mutex, rt_mutex.
  const bool T = true, F = false;
  //                             raw spin mutex rt_mutex
  const LockImpl impl[5][4] = {{S,  S,   M,    P},   // none
                               {S,  S,   M,    P},   // voluntary
                               {S,  S,   M,    P},   // full
                               {S,  S,   M,    P},   // lazy
                               {S,  P,   P,    P}};  // rt
  const uint32_t offset[5][4] = {{1, 1, 0, 0}, {1, 1, 0, 0}, {1, 1, 0, 0}, {1, 1, 0, 0},
                                 {1, 0, 0, 0}};
  const bool masks_irqs[5][4] = {{T, T, F, F}, {T, T, F, F}, {T, T, F, F}, {T, T, F, F},
                                 {T, F, F, F}};
  const uint32_t rcu[5][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0},
                              {0, 1, 0, 0}};
  // clang-format on
  for (int mi = 0; mi < 5; ++mi) {
    for (int ti = 0; ti < 4; ++ti) {
      SCOPED_TRACE(std::string(pb::exec::to_string(kModels[mi])) + " lock " + std::to_string(ti));
      EXPECT_EQ(pb::exec::lock_impl(kModels[mi], types[ti]), impl[mi][ti]);
      EXPECT_EQ(pb::exec::lock_preempt_offset(kModels[mi], types[ti]), offset[mi][ti]);
      EXPECT_EQ(pb::exec::lock_irq_variant_masks_irqs(kModels[mi], types[ti]), masks_irqs[mi][ti]);
      EXPECT_EQ(pb::exec::lock_rcu_depth(kModels[mi], types[ti]), rcu[mi][ti]);
    }
  }
}

// --- sleeping in atomic context ----------------------------------------------------------

TEST(PolicySleepCheck, MightSleepPerContext) {
  struct Case {
    const char* what;
    uint32_t count;
    bool irqs_off;
    uint32_t rcu_depth;
    bool bug_non_rt, bug_rt;
  };
  // clang-format off
  const Case cases[] = {
      {"plain task", 0, false, 0, false, false},
      {"preempt_disable", 1, false, 0, true, true},
      {"IRQs off", 0, true, 0, true, true},
      {"BH disabled", 0x200, false, 0, true, false},
      {"serving softirq", 0x100, false, 0, true, false},
      {"hardirq", 0x10000, false, 0, true, true},
      {"rcu_read_lock (preemptible RCU)", 0, false, 1, true, true},
  };
  // clang-format on
  for (const Case& k : cases) {
    for (Model m : kModels) {
      SCOPED_TRACE(std::string(k.what) + " / " + std::string(pb::exec::to_string(m)));
      EXPECT_EQ(pb::exec::might_sleep_is_bug(k.count, k.irqs_off, m, k.rcu_depth),
                m == Model::kRt ? k.bug_rt : k.bug_non_rt);
    }
  }
}

// Holding a spinlock_t and then sleeping, or taking a lock: what the debug
// check says, with the count and RCU depth the lock itself leaves behind.
TEST(PolicySleepCheck, LocksInsideSpinlockT) {
  for (Model m : kModels) {
    SCOPED_TRACE(pb::exec::to_string(m));
    const bool rt = m == Model::kRt;
    const uint32_t count = pb::exec::lock_preempt_offset(m, LockType::kSpinlock);
    const uint32_t rcu = pb::exec::lock_rcu_depth(m, LockType::kSpinlock);
    // On RT a held spinlock_t leaves the count at 0...
    EXPECT_EQ(pb::exec::in_atomic(count, m), !rt);
    // ...but msleep() inside it is still a bug (rcu_read_lock() held).
    EXPECT_TRUE(pb::exec::might_sleep_is_bug(count, false, m, rcu));
    // mutex_lock() inside it: a bug in every model.
    EXPECT_TRUE(pb::exec::lock_acquire_is_bug(m, LockType::kMutex, count, false, rcu));
    EXPECT_TRUE(pb::exec::lock_acquire_is_bug(m, LockType::kRtMutex, count, false, rcu));
    // A nested spinlock_t: fine everywhere (RT: rtlock_might_resched tolerates RCU nesting).
    EXPECT_FALSE(pb::exec::lock_acquire_is_bug(m, LockType::kSpinlock, count, false, rcu));
    // A raw_spinlock_t inside: fine everywhere.
    EXPECT_FALSE(pb::exec::lock_acquire_is_bug(m, LockType::kRawSpinlock, count, false, rcu));
  }
}

TEST(PolicySleepCheck, SpinlockTInsideRawSpinlockIsBugOnlyOnRt) {
  for (Model m : kModels) {
    SCOPED_TRACE(pb::exec::to_string(m));
    const uint32_t count = pb::exec::lock_preempt_offset(m, LockType::kRawSpinlock);
    EXPECT_EQ(pb::exec::lock_acquire_is_bug(m, LockType::kSpinlock, count, false, 0),
              m == Model::kRt);
    // Under spin_lock_irq() of a raw lock, likewise.
    EXPECT_EQ(pb::exec::lock_acquire_is_bug(m, LockType::kSpinlock, 0, true, 0), m == Model::kRt);
    EXPECT_TRUE(pb::exec::lock_acquire_is_bug(m, LockType::kMutex, count, false, 0));
  }
}

TEST(PolicySleepCheck, SchedulingWhileAtomic) {
  for (Model m : kModels) {
    SCOPED_TRACE(pb::exec::to_string(m));
    EXPECT_FALSE(pb::exec::schedule_while_atomic(0, m));
    EXPECT_TRUE(pb::exec::schedule_while_atomic(1, m));
    EXPECT_TRUE(pb::exec::schedule_while_atomic(0x10000, m));
    EXPECT_EQ(pb::exec::schedule_while_atomic(0x200, m), m != Model::kRt);
  }
}

// --- interrupts ------------------------------------------------------------------------------

TEST(PolicyIrq, ThreadingPerModelAndFlags) {
  struct Case {
    const char* what;
    pb::exec::IrqFlags flags;
    bool non_rt, non_rt_threadirqs, rt;
  };
  // clang-format off
  const Case cases[] = {
      {"plain handler", 0, false, true, true},
      {"IRQF_SHARED-like other bits", 0x80, false, true, true},
      {"IRQF_NO_THREAD", 0x10000, false, false, false},
      {"IRQF_TIMER", 0x200 | 0x4000 | 0x10000, false, false, false},
      {"IRQF_PERCPU", 0x400, false, false, false},
      {"IRQF_ONESHOT primary only", 0x2000, false, false, false},
      {"requested thread_fn + ONESHOT", pb::exec::kIrqfThreadFn | 0x2000, true, true, true},
      {"requested thread_fn", pb::exec::kIrqfThreadFn, true, true, true},
  };
  // clang-format on
  for (const Case& k : cases) {
    for (Model m : kModels) {
      SCOPED_TRACE(std::string(k.what) + " / " + std::string(pb::exec::to_string(m)));
      const bool rt = m == Model::kRt;
      EXPECT_EQ(pb::exec::irq_threaded(m, k.flags), rt ? k.rt : k.non_rt);
      EXPECT_EQ(pb::exec::irq_threaded(m, k.flags, true), rt ? k.rt : k.non_rt_threadirqs);
    }
  }
  EXPECT_EQ(pb::exec::kIrqfTimer, 0x14200u);
  EXPECT_EQ(pb::exec::kIrqfOneshot, 0x2000u);
  EXPECT_EQ(pb::exec::kIrqfPercpu, 0x400u);
  EXPECT_EQ(pb::exec::kIrqfNoThread, 0x10000u);
}

TEST(PolicyIrq, ThreadPrioritiesAndMasking) {
  EXPECT_EQ(pb::exec::kIrqThreadPriority, 50);
  EXPECT_EQ(pb::exec::kKtimersPriority, 1);
  for (Model m : kModels) {
    EXPECT_EQ(pb::exec::force_irqthreads(m, false), m == Model::kRt);
    EXPECT_TRUE(pb::exec::force_irqthreads(m, true));
    EXPECT_EQ(pb::exec::forced_irq_thread_masks_irqs(m), m != Model::kRt);
  }
}

// --- softirqs ---------------------------------------------------------------------------------

TEST(PolicySoftirq, PlacementAtIrqExit) {
  struct Case {
    const char* what;
    uint32_t count;  // after HARDIRQ_OFFSET was removed
    bool pending, cpu_bh_disabled, threadirqs;
    SoftirqPlacement non_rt, rt;
  };
  const SoftirqPlacement None = SoftirqPlacement::kNothingPending,
                         Def = SoftirqPlacement::kDeferred, In = SoftirqPlacement::kInline,
                         Wake = SoftirqPlacement::kWakeKsoftirqd;
  // clang-format off
  const Case cases[] = {
      {"nothing pending", 0, false, false, false, None, None},
      {"task context", 0, true, false, false, In, Wake},
      {"task holding a raw spinlock", 1, true, false, false, In, Wake},
      {"nested hardirq", 0x10000, true, false, false, Def, Def},
      {"interrupted a softirq", 0x100, true, false, false, Def, Def},
      {"interrupted BH-off", 0x200, true, false, false, Def, Def},
      {"another task on the CPU holds BH", 0, true, true, false, In, Def},
      {"threadirqs", 0, true, false, true, Wake, Wake},
  };
  // clang-format on
  for (const Case& k : cases) {
    for (Model m : kModels) {
      SCOPED_TRACE(std::string(k.what) + " / " + std::string(pb::exec::to_string(m)));
      const pb::exec::SoftirqExit s{.count = k.count,
                                    .pending = k.pending,
                                    .cpu_bh_disabled = k.cpu_bh_disabled,
                                    .threadirqs = k.threadirqs};
      EXPECT_EQ(pb::exec::softirq_at_irq_exit(m, s), m == Model::kRt ? k.rt : k.non_rt);
    }
  }
}

TEST(PolicySoftirq, RestartBounds) {
  EXPECT_EQ(pb::exec::kSoftirqMaxRestart, 10);
  EXPECT_EQ(pb::exec::kSoftirqMaxTimeNs, 2'000'000);
  // Nothing pending: done.
  EXPECT_EQ(pb::exec::softirq_after_round(1, 0, false, false), SoftirqNext::kDone);
  EXPECT_EQ(pb::exec::softirq_after_round(10, 5'000'000, true, false), SoftirqNext::kDone);
  // Pending, within bounds: restart, up to the 10th round.
  int rounds = 1;
  while (pb::exec::softirq_after_round(rounds, 0, false, true) == SoftirqNext::kRestart) ++rounds;
  EXPECT_EQ(rounds, 10);
  EXPECT_EQ(pb::exec::softirq_after_round(10, 0, false, true), SoftirqNext::kWakeKsoftirqd);
  // Time: 2 ms.
  EXPECT_EQ(pb::exec::softirq_after_round(1, 1'999'999, false, true), SoftirqNext::kRestart);
  EXPECT_EQ(pb::exec::softirq_after_round(1, 2'000'000, false, true), SoftirqNext::kWakeKsoftirqd);
  // need_resched (the full flag) ends the loop.
  EXPECT_EQ(pb::exec::softirq_after_round(1, 0, true, true), SoftirqNext::kWakeKsoftirqd);
}

}  // namespace

// --- RT bottom halves and RCU (kernel/softirq.c PREEMPT_RT branch) ------------------------

namespace rt_bh {
using pb::exec::bh_disable_enters_rcu;
using pb::exec::bh_enable_softirqs;
using pb::exec::BhEnableSoftirqs;
using pb::exec::kPreemptOffset;
using pb::exec::kSoftirqDisableOffset;
using pb::exec::kSoftirqOffset;

// __local_bh_disable_ip() on RT: the first entry, when preemptible(), enters
// an RCU read-side section; a nested one or a non-preemptible one does not;
// off RT never.
TEST(PolicyRtBh, FirstPreemptibleEntryEntersRcu) {
  EXPECT_TRUE(bh_disable_enters_rcu(Model::kRt, true, true));
  EXPECT_FALSE(bh_disable_enters_rcu(Model::kRt, false, true));
  EXPECT_FALSE(bh_disable_enters_rcu(Model::kRt, true, false));
  for (Model m : {Model::kNone, Model::kVoluntary, Model::kFull, Model::kLazy}) {
    EXPECT_FALSE(bh_disable_enters_rcu(m, true, true)) << pb::exec::to_string(m);
  }
}

// __local_bh_enable_ip(): off RT softirqs run unless in interrupt; on RT only
// at the end of the task's section, inline when preemptible, else
// wakeup_softirqd() ("called from non preemptible context").
TEST(PolicyRtBh, WhereSoftirqsRunAtLocalBhEnable) {
  // Nothing pending: nothing, everywhere.
  for (Model m : kModels)
    EXPECT_EQ(bh_enable_softirqs(m, 0, false, false), BhEnableSoftirqs::kNone);
  // Off RT.
  EXPECT_EQ(bh_enable_softirqs(Model::kFull, 0, false, true), BhEnableSoftirqs::kInline);
  EXPECT_EQ(bh_enable_softirqs(Model::kFull, kPreemptOffset, false, true),
            BhEnableSoftirqs::kInline);  // do_softirq() needs only !in_interrupt()
  EXPECT_EQ(bh_enable_softirqs(Model::kFull, kSoftirqDisableOffset, false, true),
            BhEnableSoftirqs::kNone);  // still BH off (nested)
  EXPECT_EQ(bh_enable_softirqs(Model::kNone, kSoftirqOffset, false, true),
            BhEnableSoftirqs::kNone);  // serving a softirq
  // RT.
  EXPECT_EQ(bh_enable_softirqs(Model::kRt, 0, false, true), BhEnableSoftirqs::kInline);
  EXPECT_EQ(bh_enable_softirqs(Model::kRt, kSoftirqDisableOffset, false, true),
            BhEnableSoftirqs::kNone);  // not the end of the section
  EXPECT_EQ(bh_enable_softirqs(Model::kRt, kPreemptOffset, false, true),
            BhEnableSoftirqs::kWakeKsoftirqd);  // preemption off
  EXPECT_EQ(bh_enable_softirqs(Model::kRt, 0, true, true),
            BhEnableSoftirqs::kWakeKsoftirqd);  // IRQs off
}

// rcu_note_context_switch(): a voluntary switch inside an RCU reader warns.
TEST(PolicyRtBh, VoluntarySwitchInRcuReader) {
  EXPECT_FALSE(pb::exec::voluntary_switch_in_rcu_reader(0));
  EXPECT_TRUE(pb::exec::voluntary_switch_in_rcu_reader(1));
  EXPECT_TRUE(pb::exec::voluntary_switch_in_rcu_reader(3));
}
}  // namespace rt_bh

namespace direct_wake {

using pb::exec::IrqExitSwitch;
using pb::exec::kPreemptOffset;
using pb::exec::kSoftirqOffset;
using pb::exec::Model;
using pb::exec::Point;
using pb::exec::Reason;
using pb::exec::ReschedFlags;
using pb::exec::SchedClass;
using pb::exec::TaskClass;
using pb::exec::Wakeup;
using pb::exec::wakeup_switch_at_irq_exit;

constexpr TaskClass kFair{SchedClass::kFair, 0};
constexpr TaskClass kIdle{SchedClass::kIdle, 0};
constexpr TaskClass Rt(int p) { return {SchedClass::kRt, p}; }

// The irq exit after a local RT wakeup: what irq_loop() would decide, per
// model, count, mode and current task.
TEST(PolicyDirectWake, SwitchesWhereTheIrqExitWould) {
  const Wakeup over_fair{.curr = kFair, .wakee = Rt(50)};
  // FULL, LAZY, RT: kernel code at count 0 is preempted at the irq exit.
  for (Model m : {Model::kFull, Model::kLazy, Model::kRt}) {
    const IrqExitSwitch s = wakeup_switch_at_irq_exit(m, over_fair, 0, false);
    EXPECT_TRUE(s.switch_now) << to_string(m);
    EXPECT_EQ(s.point, Point::kIrqExitToKernel);
    EXPECT_EQ(s.exit_decision.reason, Reason::kNeedResched);
  }
  // NONE, VOLUNTARY: not in kernel code; at the return to user, yes.
  for (Model m : {Model::kNone, Model::kVoluntary}) {
    const IrqExitSwitch k = wakeup_switch_at_irq_exit(m, over_fair, 0, false);
    EXPECT_FALSE(k.switch_now) << to_string(m);
    EXPECT_EQ(k.exit_decision.reason, Reason::kModelIgnoresPoint);
    const IrqExitSwitch u = wakeup_switch_at_irq_exit(m, over_fair, 0, true);
    EXPECT_TRUE(u.switch_now) << to_string(m);
    EXPECT_EQ(u.point, Point::kReturnToUser);
  }
  // A preempt-off section defers (FULL); a softirq in a user-mode task is
  // kernel code (FULL defers on the count, RT strips the BH count).
  EXPECT_FALSE(
      wakeup_switch_at_irq_exit(Model::kFull, over_fair, kPreemptOffset, false).switch_now);
  const IrqExitSwitch soft =
      wakeup_switch_at_irq_exit(Model::kFull, over_fair, kSoftirqOffset, true);
  EXPECT_FALSE(soft.switch_now);
  EXPECT_EQ(soft.exit_point, Point::kIrqExitToKernel);
  // RT over RT: only a strictly higher wakee.
  EXPECT_TRUE(wakeup_switch_at_irq_exit(Model::kFull, {.curr = Rt(40), .wakee = Rt(50)}, 0, false)
                  .switch_now);
  EXPECT_FALSE(wakeup_switch_at_irq_exit(Model::kFull, {.curr = Rt(50), .wakee = Rt(50)}, 0, false)
                   .switch_now);
  EXPECT_FALSE(wakeup_switch_at_irq_exit(Model::kFull, {.curr = Rt(60), .wakee = Rt(50)}, 0, false)
                   .switch_now);
  // A flag already pending counts (return to user switches on either flag).
  const Wakeup lazy_pending{
      .curr = Rt(60), .wakee = Rt(50), .curr_flags = ReschedFlags{false, true}};
  EXPECT_TRUE(wakeup_switch_at_irq_exit(Model::kLazy, lazy_pending, 0, true).switch_now);
}

// The idle task (count 1, do_idle()): its irq exit never switches, its loop
// does on need_resched, in every model.
TEST(PolicyDirectWake, IdleSwitchesInItsLoop) {
  for (Model m : pb::exec::kAllModels) {
    const IrqExitSwitch s =
        wakeup_switch_at_irq_exit(m, {.curr = kIdle, .wakee = Rt(1)}, kPreemptOffset, false);
    EXPECT_TRUE(s.switch_now) << to_string(m);
    EXPECT_EQ(s.point, Point::kSchedule);
    EXPECT_FALSE(s.exit_decision.switch_now);
  }
}

}  // namespace direct_wake
