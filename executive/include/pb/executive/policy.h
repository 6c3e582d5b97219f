// The executive's preemption policy: given a model, a preemption point and the
// context the point is reached in, "switch now or defer, and why"; plus the
// policy half of wakeups, the tick, locks, interrupts, softirqs and the
// sleep-in-atomic checks. Pure: no state, no threads, no clocks, no
// allocation; constexpr and noexcept throughout, so the mechanism inlines it
// and the tests check it exhaustively. The mechanism (threads, signals,
// futexes) asks; this header answers.
//
// Definition of correct: the kernel's own code, Linux 6.18 ("K18"; 6.12 is
// "K12" where they differ). Each section names the kernel files it follows
// and each function the symbol it reproduces.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "pb/executive/preempt_count.h"

namespace pb::exec {

// --- models: names --------------------------------------------------------------

inline constexpr std::array<Model, 5> kAllModels = {Model::kNone, Model::kVoluntary, Model::kFull,
                                                    Model::kLazy, Model::kRt};

// "none", "voluntary", "full", "lazy" (the kernel's preempt= and
// /sys/kernel/debug/sched/preempt spellings, core.c:7633-7652) and "rt".
constexpr std::string_view to_string(Model m) noexcept {
  switch (m) {
    case Model::kNone:
      return "none";
    case Model::kVoluntary:
      return "voluntary";
    case Model::kFull:
      return "full";
    case Model::kLazy:
      return "lazy";
    case Model::kRt:
      return "rt";
  }
  return "?";
}

// Exact, case-sensitive match of to_string(), as the kernel's strcmp-based
// sched_dynamic_mode() parser; nullopt for anything else.
constexpr std::optional<Model> parse_model(std::string_view name) noexcept {
  for (Model m : kAllModels) {
    if (to_string(m) == name) return m;
  }
  return std::nullopt;
}

// --- preemption points (kernel/sched/core.c, kernel/entry/common.c) ----------------

enum class Point : uint8_t {
  kCondResched,      // cond_resched()
  kMightResched,     // might_resched(), the tail of might_sleep()
  kPreemptEnable,    // preempt_enable(); off RT also the preempt_check_resched() that ends
                     // local_bh_enable() (softirq.c:427-458) and spin_unlock()
  kIrqExitToKernel,  // irqentry_exit() returning to interrupted kernel code
  kReturnToUser,     // exit_to_user_mode_loop(): syscall, IRQ or exception return to user
  kSchedule,         // the task blocks: schedule()
};

inline constexpr std::array<Point, 6> kAllPoints = {Point::kCondResched,   Point::kMightResched,
                                                    Point::kPreemptEnable, Point::kIrqExitToKernel,
                                                    Point::kReturnToUser,  Point::kSchedule};
inline constexpr size_t kNumPoints = kAllPoints.size();

constexpr std::string_view to_string(Point p) noexcept {
  switch (p) {
    case Point::kCondResched:
      return "cond_resched";
    case Point::kMightResched:
      return "might_resched";
    case Point::kPreemptEnable:
      return "preempt_enable";
    case Point::kIrqExitToKernel:
      return "irq_exit_to_kernel";
    case Point::kReturnToUser:
      return "return_to_user";
    case Point::kSchedule:
      return "schedule";
  }
  return "?";
}

// irqentry_exit() (kernel/entry/common.c:185-227) sends a return to user mode
// to irqentry_exit_to_user_mode() and a return to kernel code to the
// conditional preemption; the mechanism picks the point with this.
constexpr Point irq_exit_point(bool interrupted_user_mode) noexcept {
  return interrupted_user_mode ? Point::kReturnToUser : Point::kIrqExitToKernel;
}

// The two reschedule flags of a task (resched_curr(), core.c): TIF_NEED_RESCHED ("full") and
// TIF_NEED_RESCHED_LAZY. need_resched() tests only the full one
// (sched.h:2215-2218).
struct ReschedFlags {
  bool need_resched = false;
  bool need_resched_lazy = false;
  friend constexpr bool operator==(const ReschedFlags&, const ReschedFlags&) = default;
};

// The state a preemption point is reached in.
//
// REQUIRES, per point:
// - kPreemptEnable: preempt_count is the value after the decrement.
// - kIrqExitToKernel: preempt_count and irqs_disabled describe the interrupted
//   context, after irq_exit has removed HARDIRQ_OFFSET; irqs_disabled is its
//   saved IRQ state (regs_irqs_disabled(regs)), not the handler's.
// - kReturnToUser, kSchedule: preempt_count and irqs_disabled are not
//   consulted (exit_to_user_mode_loop enables IRQs itself; schedule() blocks
//   whatever the count, see schedule_while_atomic()).
struct Context {
  PreemptCount preempt_count = 0;  // the task's word, see preempt_count.h
  bool irqs_disabled = false;
  ReschedFlags flags{};
};

// Why a point switched or deferred, for accounting.
enum class Reason : uint8_t {
  // The point switches.
  kNeedResched,      // TIF_NEED_RESCHED pending and every condition of the point met
  kNeedReschedLazy,  // only TIF_NEED_RESCHED_LAZY pending, at return to user
  kBlocking,         // schedule(): the task gives up the CPU
  // The point defers.
  kModelIgnoresPoint,  // not a preemption point in this model (a no-op or debug-only)
  kNoReschedPending,   // neither flag set
  kLazyOnly,           // only the lazy flag set; this point tests need_resched() alone
  kCountNonZero,       // preempt_count() != 0 (preempt off, spinlock, BH, in interrupt)
  kIrqsDisabled,       // IRQs off (in the interrupted context, at kIrqExitToKernel)
};
inline constexpr size_t kNumReasons = static_cast<size_t>(Reason::kIrqsDisabled) + 1;

constexpr std::string_view to_string(Reason r) noexcept {
  switch (r) {
    case Reason::kNeedResched:
      return "need_resched";
    case Reason::kNeedReschedLazy:
      return "need_resched_lazy";
    case Reason::kBlocking:
      return "blocking";
    case Reason::kModelIgnoresPoint:
      return "model_ignores_point";
    case Reason::kNoReschedPending:
      return "no_resched_pending";
    case Reason::kLazyOnly:
      return "lazy_only";
    case Reason::kCountNonZero:
      return "count_nonzero";
    case Reason::kIrqsDisabled:
      return "irqs_disabled";
  }
  return "?";
}

struct Decision {
  bool switch_now = false;
  Reason reason = Reason::kNoReschedPending;
  friend constexpr bool operator==(const Decision&, const Decision&) = default;
};

namespace detail {
// The test shared by every point that honours only the full flag:
// __cond_resched()'s "should_resched(0) && !irqs_disabled()" (core.c:7455-7478),
// preempt_enable()'s "dec_and_test, then preemptible()" (preempt.h:229-235,
// core.c:7129-7139) and raw_irqentry_exit_cond_resched()'s
// "!preempt_count() && need_resched()" behind the saved-IRQ-state test
// (entry/common.c:160-227). When several conditions fail the reason names the
// first in this order: flags, count, IRQs.
constexpr Decision full_flag_switch(Model m, const Context& c) noexcept {
  if (!c.flags.need_resched) {
    return {false, c.flags.need_resched_lazy ? Reason::kLazyOnly : Reason::kNoReschedPending};
  }
  if (kernel_preempt_count(c.preempt_count, m) != 0) return {false, Reason::kCountNonZero};
  if (c.irqs_disabled) return {false, Reason::kIrqsDisabled};
  return {true, Reason::kNeedResched};
}
}  // namespace detail

// Switch now or defer, as the kernel's preemption points do (preempt_schedule(),
// preempt_schedule_irq(), __cond_resched() in kernel/sched/core.c;
// irqentry_exit() and exit_to_user_mode_loop() in kernel/entry/common.c):
//
// | Point              | NONE | VOLUNTARY | FULL | LAZY | RT   |
// |--------------------|------|-----------|------|------|------|
// | kCondResched       | F    | F         | -    | -    | -    |
// | kMightResched      | -    | F         | -    | -    | -    |
// | kPreemptEnable     | -    | -         | F    | F    | F    |
// | kIrqExitToKernel   | -    | -         | F    | F    | F    |
// | kReturnToUser      | E    | E         | E    | E    | E    |
// | kSchedule          | B    | B         | B    | B    | B    |
//
// F: switches iff TIF_NEED_RESCHED && preempt_count() == 0 && IRQs on (the
//    lazy flag is invisible: need_resched() and the folded preempt bit test
//    the full flag only). cond_resched() runs in task context, so its
//    "count 0" is the kernel's should_resched(0) with PREEMPT_COUNT.
// E: switches on either flag, whatever the count (K18 exit_to_user_mode_loop,
//    entry/common.c:30-31). Only LAZY ever sets the lazy flag, so in the other
//    models this is the full flag alone, as K12 tests it.
// B: always switches: the task blocks.
// -: the model compiles the point out (RET0/NOP static call, PREEMPT_DYNAMIC) or keeps
//    only its debug check (might_sleep_is_bug()); defers with
//    kModelIgnoresPoint.
// On RT, preempt_count() excludes held spinlock_t and BH-disabled sections
// (kernel_preempt_count()), so both stay preemptible.
constexpr Decision decide(Model m, Point p, const Context& c) noexcept {
  switch (p) {
    case Point::kCondResched:
      if (m != Model::kNone && m != Model::kVoluntary) return {false, Reason::kModelIgnoresPoint};
      return detail::full_flag_switch(m, c);
    case Point::kMightResched:
      if (m != Model::kVoluntary) return {false, Reason::kModelIgnoresPoint};
      return detail::full_flag_switch(m, c);
    case Point::kPreemptEnable:
    case Point::kIrqExitToKernel:
      if (!model_is_preemptible(m)) return {false, Reason::kModelIgnoresPoint};
      return detail::full_flag_switch(m, c);
    case Point::kReturnToUser:
      if (c.flags.need_resched) return {true, Reason::kNeedResched};
      if (c.flags.need_resched_lazy) return {true, Reason::kNeedReschedLazy};
      return {false, Reason::kNoReschedPending};
    case Point::kSchedule:
      return {true, Reason::kBlocking};
  }
  return {false, Reason::kModelIgnoresPoint};
}

// --- reschedule requests (resched_curr(), resched_curr_lazy(): kernel/sched/core.c) ---

// Which flag a request sets.
enum class Resched : uint8_t { kNone, kLazy, kFull };

constexpr std::string_view to_string(Resched r) noexcept {
  switch (r) {
    case Resched::kNone:
      return "none";
    case Resched::kLazy:
      return "lazy";
    case Resched::kFull:
      return "full";
  }
  return "?";
}

// The flag resched_curr_lazy() requests (core.c:1139-1168): lazy when
// dynamic_preempt_lazy(), full otherwise. The fair class uses it for a slice
// exhausted at the tick (update_curr), the HRTICK and wakeup preemption
// (fair.c:1251-1253, 5583-5585, 8832); every other request is resched_curr(),
// the full flag.
constexpr Resched resched_curr_lazy_flag(Model m) noexcept {
  return model_lazy_active(m) ? Resched::kLazy : Resched::kFull;
}

// `flags` with `r` set.
constexpr ReschedFlags with_flag(ReschedFlags flags, Resched r) noexcept {
  if (r == Resched::kFull) flags.need_resched = true;
  if (r == Resched::kLazy) flags.need_resched_lazy = true;
  return flags;
}

// What a request does to the target CPU's current task.
struct ReschedAction {
  Resched set = Resched::kNone;  // the flag newly set; kNone if nothing changed
  bool ipi = false;              // kick the target vCPU (reschedule IPI)
  friend constexpr bool operator==(const ReschedAction&, const ReschedAction&) = default;
};

// __resched_curr() (core.c:1098-1132):
// - the idle task always gets the full flag;
// - nothing happens if the requested flag or the full flag is already set
//   (so a full request over a pending lazy one does go through);
// - locally the flag is set (the full one folded into the count, which our
//   decide() reads from the flags directly); no IPI;
// - remotely the flag is set and an IPI sent only for the full flag: a lazy
//   request sends none.
// The emulated idle vCPU sleeps rather than polls, so it always needs the IPI
// (a polling idle CPU would skip it, set_nr_and_not_polling(), core.c:965-968).
constexpr ReschedAction resched_curr(Resched requested, ReschedFlags target, bool target_is_idle,
                                     bool remote) noexcept {
  if (requested == Resched::kNone) return {};
  if (target_is_idle) requested = Resched::kFull;
  const bool already =
      target.need_resched || (requested == Resched::kLazy && target.need_resched_lazy);
  if (already) return {};
  return {requested, remote && requested == Resched::kFull};
}

// sched_tick() (core.c:5597-5598): "if (dynamic_preempt_lazy() &&
// tif_test_bit(TIF_NEED_RESCHED_LAZY)) resched_curr(rq);". True when the tick
// must set the full flag now, i.e. LAZY with the lazy flag pending and the full
// flag not yet set (resched_curr() would return early otherwise). The check
// runs before task_tick(), so a lazy flag that the same tick's update_curr()
// sets is promoted at the next tick: at most one tick late (the commit message
// of 7c70cb94d29cd: TICK_NSEC/2 on average).
constexpr bool promote_lazy_at_tick(Model m, ReschedFlags flags) noexcept {
  return model_lazy_active(m) && flags.need_resched_lazy && !flags.need_resched;
}

// --- wakeups (ttwu, wakeup_preempt(): kernel/sched/core.c) -------------------------------

// Scheduling classes in ascending precedence (sched_class_above(): idle < fair
// < rt; deadline and stop are not modelled). kIdle is the per-CPU idle task,
// not SCHED_IDLE (a fair policy).
enum class SchedClass : uint8_t { kIdle, kFair, kRt };

// The emulated scheduling policy of a task, as sched_setscheduler() takes it;
// its SchedClass follows (kFair -> kFair, kFifo and kRr -> kRt). Shared by
// the executive, the simulator and the workload descriptions.
enum class Policy : uint8_t {
  kFair,  // SCHED_NORMAL (the fair class)
  kFifo,  // SCHED_FIFO, priority 1..99
  kRr,    // SCHED_RR, priority 1..99
};

struct TaskClass {
  SchedClass sched_class = SchedClass::kFair;
  int rt_priority = 0;  // SCHED_FIFO/RR 1..99, higher wins; used only for kRt
};

struct Wakeup {
  TaskClass curr;       // the task running on the target CPU (rq->donor)
  TaskClass wakee;      // the task being woken onto that CPU
  bool remote = false;  // the target vCPU is not the waker's
  // Fair vs fair only: the fair class's own verdict, check_preempt_wakeup_fair()
  // (EEVDF: the wakee is eligible with the earlier deadline). The fair pick is
  // the mechanism's; this module only says what follows from it.
  bool fair_wakee_wins = false;
  ReschedFlags curr_flags{};  // the target task's flags before the wakeup
};

struct WakeupAction {
  Resched requested = Resched::kNone;  // what wakeup_preempt() asks for
  ReschedAction action{};              // what that does (resched_curr() above)
  friend constexpr bool operator==(const WakeupAction&, const WakeupAction&) = default;
};

// wakeup_preempt() (core.c:2203-2211) then __resched_curr():
// - wakee's class above curr's: resched_curr(), the full flag;
// - both RT: the full flag iff the wakee's priority is strictly higher
//   (wakeup_preempt_rt(), rt.c:1614-1637; equal priority does not preempt:
//   FIFO order; the push decision of check_preempt_equal_prio is not modelled);
// - both fair: resched_curr_lazy() iff fair_wakee_wins, so the lazy flag and
//   no IPI under LAZY, the full flag (+ IPI when remote) in every other model;
// - otherwise nothing.
// The remote path modelled is the direct one (set the flag, then IPI); on
// the wake-list route (ttwu_queue_wakelist()) the target sets the flag locally after a
// function-call IPI, with the same preemption outcome.
constexpr WakeupAction on_wakeup(Model m, const Wakeup& w) noexcept {
  Resched requested = Resched::kNone;
  if (w.wakee.sched_class > w.curr.sched_class) {
    requested = Resched::kFull;
  } else if (w.wakee.sched_class == w.curr.sched_class) {
    if (w.wakee.sched_class == SchedClass::kRt) {
      if (w.wakee.rt_priority > w.curr.rt_priority) requested = Resched::kFull;
    } else if (w.wakee.sched_class == SchedClass::kFair) {
      if (w.fair_wakee_wins) requested = resched_curr_lazy_flag(m);
    }
  }
  const bool curr_is_idle = w.curr.sched_class == SchedClass::kIdle;
  return {requested, resched_curr(requested, w.curr_flags, curr_is_idle, w.remote)};
}

// A local wakeup made by an expired hrtimer while `curr` ran with IRQs on and
// outside any interrupt, and nothing else for that interrupt to do: does the
// interrupt's exit switch to the wakee right away? The questions irq_loop()
// asks in turn (on_wakeup() and its resched_curr(), then decide() at
// irq_exit_point()), answered in one place for the executive's direct
// preemption (DESIGN.md), which carries the switch out on the wakee's thread:
// - a task: the irq-exit decision with the flags the wakeup leaves (count
//   and mode as interrupted: user mode only with no irq count);
// - the idle task: its count is 1 (do_idle()), so the irq exit defers, and
//   its loop switches on need_resched (point kSchedule, cause idle).
// `exit_point`/`exit_decision` are the irq exit's own consultation, counted
// as the interrupt's path counts it.
struct IrqExitSwitch {
  bool switch_now = false;
  Point point = Point::kSchedule;  // where the switch happens
  Point exit_point = Point::kIrqExitToKernel;
  Decision exit_decision{};
  friend constexpr bool operator==(const IrqExitSwitch&, const IrqExitSwitch&) = default;
};

constexpr IrqExitSwitch wakeup_switch_at_irq_exit(Model m, const Wakeup& w, PreemptCount curr_count,
                                                  bool curr_user_mode) noexcept {
  const WakeupAction a = on_wakeup(m, w);
  ReschedFlags f = w.curr_flags;
  if (a.action.set == Resched::kFull) f.need_resched = true;
  if (a.action.set == Resched::kLazy) f.need_resched_lazy = true;
  const Point p = irq_exit_point(curr_user_mode && (curr_count & kIrqCountMask) == 0);
  const Decision d = decide(m, p, Context{curr_count, false, f});
  if (w.curr.sched_class == SchedClass::kIdle) {
    return {f.need_resched || f.need_resched_lazy, Point::kSchedule, p, d};
  }
  return {d.switch_now, p, p, d};
}

// --- locks (kernel/locking/spinlock_rt.c, rtmutex.c, include/linux/spinlock.h) ----------

enum class LockType : uint8_t { kRawSpinlock, kSpinlock, kMutex, kRtMutex };

enum class LockImpl : uint8_t {
  // preempt_disable() + spin on an atomic; the holder is atomic and a waiter
  // spins (raw_spinlock_t everywhere; spinlock_t when not RT).
  kSpinning,
  // rt_mutex on the PI-futex protocol: waiters sleep and boost the owner, the
  // holder stays preemptible (rt_mutex everywhere; spinlock_t and mutex on RT).
  kSleepingPi,
  // A plain futex mutex: waiters sleep (after optimistic spinning in the
  // kernel), no priority inheritance (mutex when not RT).
  kSleepingNoPi,
};

// The implementation of each lock type per model: locktypes.rst:232-300,
// spinlock_types.h:45-55, mutex_types.h:56-69 (RT mutex on rt_mutex_base);
// mutex.c has no PI (SCHED_PROXY_EXEC is not modelled).
constexpr LockImpl lock_impl(Model m, LockType t) noexcept {
  switch (t) {
    case LockType::kRawSpinlock:
      return LockImpl::kSpinning;
    case LockType::kSpinlock:
      return model_is_rt(m) ? LockImpl::kSleepingPi : LockImpl::kSpinning;
    case LockType::kMutex:
      return model_is_rt(m) ? LockImpl::kSleepingPi : LockImpl::kSleepingNoPi;
    case LockType::kRtMutex:
      return LockImpl::kSleepingPi;
  }
  return LockImpl::kSpinning;
}

// What holding the lock adds to the count (the _bh variants add
// softirq_lock_offset() instead): raw_spin_lock() always preempt_disable()s;
// spin_lock() adds PREEMPT_LOCK_OFFSET, 0 on RT; sleeping locks add nothing.
constexpr PreemptCount lock_preempt_offset(Model m, LockType t) noexcept {
  switch (t) {
    case LockType::kRawSpinlock:
      return kPreemptDisableOffset;
    case LockType::kSpinlock:
      return preempt_lock_offset(m);
    case LockType::kMutex:
    case LockType::kRtMutex:
      return 0;
  }
  return 0;
}

// What holding the lock adds to the task's RCU read-side nesting
// (rcu_preempt_depth()): rt_spin_lock() takes rcu_read_lock()
// (spinlock_rt.c:37-56). Feeds might_sleep_is_bug().
constexpr uint32_t lock_rcu_depth(Model m, LockType t) noexcept {
  return (t == LockType::kSpinlock && model_is_rt(m)) ? 1u : 0u;
}

// Whether spin_lock_irq()/_irqsave() really mask IRQs: always for
// raw_spinlock_t, never for spinlock_t on RT (flags are set to 0,
// spinlock_rt.h:84-101); sleeping locks have no such variants.
constexpr bool lock_irq_variant_masks_irqs(Model m, LockType t) noexcept {
  return t == LockType::kRawSpinlock || (t == LockType::kSpinlock && !model_is_rt(m));
}

// --- sleeping in atomic context (__might_sleep(), schedule_debug(): kernel/sched/core.c) --

// __might_resched(file, line, 0) as called by might_sleep() (core.c:8881-8930):
// not a bug iff preempt_count() == 0, IRQs are on and the RCU read-side
// nesting is 0 (resched_offsets_ok() adds rcu_preempt_depth()). On RT a held
// spinlock_t leaves the count at 0 (preempt_lock_offset()) but holds
// rcu_read_lock() (lock_rcu_depth()), so a real sleep inside it is still
// reported; a BH-disabled section alone is not. `rcu_depth` is the task's
// rcu_read_lock() nesting where it is not in the count (PREEMPT_RCU: RT, and
// explicit sections the mechanism tracks); pass 0 when none is tracked.
// Sleeping in the idle task, during boot or in an oops is not modelled.
constexpr bool might_sleep_is_bug(PreemptCount c, bool irqs_disabled, Model m,
                                  uint32_t rcu_depth) noexcept {
  return kernel_preempt_count(c, m) != 0 || irqs_disabled || rcu_depth != 0;
}

// The check at the acquisition of `t` (before the lock is taken):
// - raw_spinlock_t, and spinlock_t off RT: spinning, no check;
// - spinlock_t on RT: rtlock_might_resched(), which tolerates the current RCU
//   nesting (RTLOCK_RESCHED_OFFSETS, spinlock_rt.c) so spinlock_t nests in
//   spinlock_t, but not a raised count or IRQs off (spinlock_t inside
//   raw_spinlock_t is a bug on RT);
// - mutex, rt_mutex: might_sleep().
constexpr bool lock_acquire_is_bug(Model m, LockType t, PreemptCount c, bool irqs_disabled,
                                   uint32_t rcu_depth) noexcept {
  switch (lock_impl(m, t)) {
    case LockImpl::kSpinning:
      return false;
    case LockImpl::kSleepingPi:
    case LockImpl::kSleepingNoPi:
      if (t == LockType::kSpinlock) return kernel_preempt_count(c, m) != 0 || irqs_disabled;
      return might_sleep_is_bug(c, irqs_disabled, m, rcu_depth);
  }
  return false;
}

// rcu_note_context_switch() (kernel/rcu/tree_plugin.h), on a kernel with
// preemptible RCU: a voluntary switch (schedule() from a blocking call, not a
// preemption) inside an RCU read-side section warns "Voluntary context switch
// within RCU read-side critical section!" (WARN_ONCE). `rcu_depth` as for
// might_sleep_is_bug(): on RT a held spinlock_t and a BH-disabled section
// hold rcu_read_lock() without raising the count, so schedule_debug()'s
// "scheduling while atomic" stays silent there and this is what is printed.
constexpr bool voluntary_switch_in_rcu_reader(uint32_t rcu_depth) noexcept {
  return rcu_depth != 0;
}

// --- RT bottom halves (kernel/softirq.c, CONFIG_PREEMPT_RT) --------------------------------

// __local_bh_disable_ip() on RT (6.18, without PREEMPT_RT_NEEDS_BH_LOCK): the
// task's first entry into a BH-disabled section, when preemptible(), calls
// migrate_disable() and rcu_read_lock() (6.12 took the per-CPU softirq_ctrl
// local lock instead of migrate_disable(); both enter the RCU read-side
// section). A non-preemptible first entry takes neither. Off RT nothing:
// the BH count in preempt_count is the whole story.
constexpr bool bh_disable_enters_rcu(Model m, bool first_entry, bool preemptible_now) noexcept {
  return model_is_rt(m) && first_entry && preemptible_now;
}

enum class BhEnableSoftirqs : uint8_t {
  kNone,           // nothing pending, or not the place to run them
  kInline,         // run them now, on this task (do_softirq() / __do_softirq())
  kWakeKsoftirqd,  // wakeup_softirqd(): the BH section ends where softirqs may not run
};

// __local_bh_enable_ip(), with `count_after` the task's word after the
// decrement and `irqs_disabled` its IRQ state:
// - off RT: "if (!in_interrupt() && local_softirq_pending()) do_softirq()";
// - RT: only when this enable ends the task's BH-disabled section ("curcnt !=
//   cnt: no point in trying to run pending ones"), and then inline when
//   preemptible() (RT's preempt_count() without the BH count, and IRQs on),
//   else wakeup_softirqd(): "If this was called from non preemptible
//   context, wake up the softirq daemon."
constexpr BhEnableSoftirqs bh_enable_softirqs(Model m, PreemptCount count_after, bool irqs_disabled,
                                              bool pending) noexcept {
  if (!pending) return BhEnableSoftirqs::kNone;
  if (!model_is_rt(m)) {
    return in_interrupt(count_after) ? BhEnableSoftirqs::kNone : BhEnableSoftirqs::kInline;
  }
  if (softirq_count(count_after) != 0) return BhEnableSoftirqs::kNone;
  return preemptible(count_after, irqs_disabled, m) ? BhEnableSoftirqs::kInline
                                                    : BhEnableSoftirqs::kWakeKsoftirqd;
}

// "BUG: scheduling while atomic" (schedule_debug(), core.c:5854-5905): the
// count at the call to schedule(), before schedule()'s own preempt_disable(),
// is not 0 (in_atomic_preempt_off() inside).
constexpr bool schedule_while_atomic(PreemptCount c, Model m) noexcept {
  return kernel_preempt_count(c, m) != 0;
}

// --- interrupts (kernel/irq/manage.c, kernel/irq/handle.c) --------------------------------

// IRQF_* request flags, with the kernel's values (include/linux/interrupt.h).
using IrqFlags = uint32_t;
inline constexpr IrqFlags kIrqfPercpu = 0x00000400;     // IRQF_PERCPU
inline constexpr IrqFlags kIrqfOneshot = 0x00002000;    // IRQF_ONESHOT
inline constexpr IrqFlags kIrqfNoSuspend = 0x00004000;  // IRQF_NO_SUSPEND
inline constexpr IrqFlags kIrqfNoThread = 0x00010000;   // IRQF_NO_THREAD
// IRQF_TIMER = __IRQF_TIMER | IRQF_NO_SUSPEND | IRQF_NO_THREAD (interrupt.h:90).
inline constexpr IrqFlags kIrqfTimer = 0x00000200 | kIrqfNoSuspend | kIrqfNoThread;
// Not an IRQF_* flag: the handler was requested with a thread_fn
// (request_threaded_irq(), manage.c:2030-2068), so it runs in its thread in
// every model.
inline constexpr IrqFlags kIrqfThreadFn = 0x80000000;

// force_irqthreads(): always on RT, else the `threadirqs` boot parameter
// (interrupt.h:508-517; manage.c:27-35).
constexpr bool force_irqthreads(Model m, bool threadirqs) noexcept {
  return model_is_rt(m) || threadirqs;
}

// Whether the handler body runs in an irq thread (the hardirq part then only
// wakes it): requested threads always; otherwise forced threading, which
// irq_setup_forced_threading() skips for NO_THREAD (so TIMER), PERCPU and
// ONESHOT (manage.c:1297-1330).
constexpr bool irq_threaded(Model m, IrqFlags flags, bool threadirqs = false) noexcept {
  if ((flags & kIrqfThreadFn) != 0) return true;
  if (!force_irqthreads(m, threadirqs)) return false;
  return (flags & (kIrqfNoThread | kIrqfPercpu | kIrqfOneshot)) == 0;
}

// Every irq thread calls sched_set_fifo(): SCHED_FIFO MAX_RT_PRIO/2 = 50
// (manage.c:1242; sched/syscalls.c:842-846). The executive lets it be set per IRQ.
inline constexpr int kIrqThreadPriority = 50;
// ktimers/%u, where RT runs TIMER/HRTIMER softirqs when threading is forced
// (softirq.c:1111-1149): SCHED_FIFO 1. K18 only.
inline constexpr int kKtimersPriority = 1;

// irq_forced_thread_fn() (manage.c:1146-1158) runs a force-threaded handler
// inside local_bh_disable() in every model and, off RT, also inside
// local_irq_disable().
constexpr bool forced_irq_thread_masks_irqs(Model m) noexcept { return !model_is_rt(m); }

// --- softirqs at irq exit (irq_exit_rcu(), handle_softirqs(): kernel/softirq.c) ----------

enum class SoftirqPlacement : uint8_t {
  kNothingPending,  // no softirq raised
  kDeferred,        // left to whoever holds BH off: the enclosing softirq loop or
                    // hardirq, or the next local_bh_enable() of the BH holder
  kInline,          // run now, at irq exit, on the interrupted task: __do_softirq()
                    // with SOFTIRQ_OFFSET, IRQs on, bounded by softirq_after_round()
  kWakeKsoftirqd,   // wake this vCPU's ksoftirqd thread (a fair-class task)
};

struct SoftirqExit {
  // The interrupted context's word after HARDIRQ_OFFSET was removed.
  PreemptCount count = 0;
  bool pending = false;  // local_softirq_pending()
  // RT only: softirq_ctrl.cnt != 0, some task on this vCPU (possibly a
  // preempted one) is inside a BH-disabled section. Ignored off RT, where the
  // count says it.
  bool cpu_bh_disabled = false;
  bool threadirqs = false;  // the `threadirqs` boot parameter (non-RT)
};

// __irq_exit_rcu() (softirq.c:713-730): "if (!in_interrupt() &&
// local_softirq_pending()) invoke_softirq();". invoke_softirq() runs them
// inline unless threading is forced, then it wakes ksoftirqd (softirq.c:487-509);
// on RT it only wakes ksoftirqd, and only when no task on the CPU has BH
// disabled (should_wake_ksoftirqd(), softirq.c:333-342).
constexpr SoftirqPlacement softirq_at_irq_exit(Model m, const SoftirqExit& s) noexcept {
  if (!s.pending) return SoftirqPlacement::kNothingPending;
  if (in_interrupt(s.count)) return SoftirqPlacement::kDeferred;
  if (model_is_rt(m)) {
    return s.cpu_bh_disabled ? SoftirqPlacement::kDeferred : SoftirqPlacement::kWakeKsoftirqd;
  }
  return force_irqthreads(m, s.threadirqs) ? SoftirqPlacement::kWakeKsoftirqd
                                           : SoftirqPlacement::kInline;
}

// handle_softirqs()'s restart bounds (softirq.c:543-544, 579-656):
// MAX_SOFTIRQ_RESTART rounds and MAX_SOFTIRQ_TIME. The kernel measures the
// time in jiffies (msecs_to_jiffies(2), rounded up: one jiffy at HZ<=500); the
// emulation uses the nominal 2 ms.
inline constexpr int kSoftirqMaxRestart = 10;
inline constexpr int64_t kSoftirqMaxTimeNs = 2'000'000;

enum class SoftirqNext : uint8_t { kDone, kRestart, kWakeKsoftirqd };

// After round `rounds_done` (1-based) of an inline softirq run, with
// `elapsed_ns` since the run began: "if (pending) { if (time_before(jiffies,
// end) && !need_resched() && --max_restart) goto restart; wakeup_softirqd(); }".
// need_resched is the full flag only.
constexpr SoftirqNext softirq_after_round(int rounds_done, int64_t elapsed_ns, bool need_resched,
                                          bool pending) noexcept {
  if (!pending) return SoftirqNext::kDone;
  if (elapsed_ns < kSoftirqMaxTimeNs && !need_resched && rounds_done < kSoftirqMaxRestart) {
    return SoftirqNext::kRestart;
  }
  return SoftirqNext::kWakeKsoftirqd;
}

}  // namespace pb::exec
