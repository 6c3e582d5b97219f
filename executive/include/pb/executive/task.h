// What an emulated task's body sees: TaskApi, the emulated kernel's interface
// for the code running in a task (kernel entry and exit, preemption control,
// soft interrupt masking, explicit preemption points, blocking and waking,
// periodic release, busy work), and Completion, the blocking primitive.
//
// Threading contract. A TaskApi is handed to the task's body by the
// executive and is used only by that task's own thread; it is not copyable
// into other tasks. Every call is a call "from the current task": only the
// vCPU's current task runs emulated code (dispatch gating, executive.h), so
// the state below is never written by two threads at once.
//
// Fast paths. preempt_disable/enable, local_bh_*, local_irq_* are inline:
// a store to the task's own word, a compiler (signal) fence, and one relaxed
// load of the task's reschedule flags or the vCPU's pending-interrupt word.
// They leave the policy decision to pb::exec::decide() (policy.h) in the
// out-of-line slow path; the fast path only skips that call when no
// reschedule flag is set, and sched.cc proves at compile time (static_assert) that
// decide() never switches in that case.
//
// Host locks. A body may be preempted (parked) at any preemption point and,
// with interrupts enabled, inside any interrupt. If it is inside libc holding
// a lock (malloc, stdio) another task of the vCPU that takes the same lock
// blocks on the host and the vCPU stops (the watchdog then reports it). Call
// libc only inside preempt_disable()/preempt_enable() with interrupts off, or
// before/after the run; record results into storage allocated before start.
#pragma once

#include <atomic>
#include <cstdint>
#include <source_location>
#include <string_view>

#include "pb/executive/locks.h"
#include "pb/executive/policy.h"
#include "pb/executive/preempt_count.h"

namespace pb::exec {

using TaskId = int;

namespace detail {
struct Task;
struct CompletionAccess;

// The part of a task's state the inline fast paths touch. The executive's
// task object derives from it.
struct TaskHot {
  // The task's preempt_count (preempt_count.h layout). Written only by the
  // task's own thread and its own signal handlers, whose changes are balanced
  // (HARDIRQ_OFFSET added and removed), so a plain load/add/store interrupted
  // by a handler still stores the right value; atomic only so that other
  // threads (the watchdog, reports) may read it.
  std::atomic<uint32_t> preempt_count{0};
  // The soft interrupt mask: local_irq_disable() is one store. Same writers.
  std::atomic<uint32_t> irqs_disabled{0};
  // kReschedFull | kReschedLazy: TIF_NEED_RESCHED and TIF_NEED_RESCHED_LAZY,
  // set by wakers (any vCPU) and the tick under the vCPU's rq lock, cleared by
  // the scheduler when this task is switched out.
  std::atomic<uint32_t> resched{0};
  // The vCPU's pending-interrupt bits (interrupts that arrived while masked).
  std::atomic<uint32_t>* irq_pending = nullptr;
  // The vCPU's pending softirq work (local_softirq_pending()).
  std::atomic<int64_t>* softirq_pending = nullptr;
  // Config::track_windows: time preempt-off and irq-off windows (immutable
  // after setup).
  uint32_t track_windows = 0;
  // The host TID (the lock word's owner value) and Config::lockdep, for the
  // inline raw_spin_lock fast path (set before the body runs).
  uint32_t lock_tid = 0;
  uint32_t lockdep = 0;
  // The model is PREEMPT_RT: local_bh_disable()/enable() take the slow path
  // (the BH section's RCU read-side section, softirqs at its end).
  uint32_t rt_bh = 0;
};

inline constexpr uint32_t kReschedFull = 1u << 0;
inline constexpr uint32_t kReschedLazy = 1u << 1;

// Out-of-line slow paths of the inline calls.
void preempt_point(TaskHot* t, Point p) noexcept;
void irq_replay(TaskHot* t) noexcept;
void bh_enable_slow(TaskHot* t) noexcept;
void bh_disable_rt(TaskHot* t) noexcept;
// Preempt-off (the count's PREEMPT and SOFTIRQ fields leave 0) and irq-off
// (the soft mask set) windows: begin at the outermost disable, end at the
// matching enable; the vCPU keeps the longest of each with its location.
enum WindowKind : uint8_t { kPreemptOffWindow, kIrqsOffWindow };
void window_begin(TaskHot* t, WindowKind k, const std::source_location& loc) noexcept;
void window_end(TaskHot* t, WindowKind k) noexcept;
inline constexpr PreemptCount kWindowMask = kPreemptMask | kSoftirqMask;
}  // namespace detail

// A kernel completion (kernel/sched/completion.c): complete() lets one waiter
// through (or the next wait_for_completion() return at once). Fixed size,
// never allocates: waiters are linked through the tasks themselves. It must
// outlive every run whose tasks use it; it may be reused by a later run.
class Completion {
 public:
  Completion() = default;
  Completion(const Completion&) = delete;
  Completion& operator=(const Completion&) = delete;

  // Completions posted and not yet consumed. For reports after a run.
  uint32_t done() const noexcept { return done_; }

 private:
  friend struct detail::CompletionAccess;
  std::atomic<uint32_t> lock_{0};
  uint32_t done_ = 0;
  detail::Task* head_ = nullptr;
  detail::Task* tail_ = nullptr;
};

class TaskApi {
 public:
  explicit TaskApi(detail::TaskHot* hot) noexcept : t_(hot) {}

  // --- identity and run control ---------------------------------------------------
  TaskId id() const noexcept;
  int vcpu() const noexcept;
  std::string_view name() const noexcept;
  Model model() const noexcept;
  // False once the run is stopping (stop(), run_for() expiry, the watchdog):
  // bodies loop on it. Blocking calls then return false at once.
  bool running() const noexcept;
  // Whether the watchdog ended the run.
  bool aborted() const noexcept;
  // Asks the executive to end the run (run_for() returns). Async-signal-safe.
  void request_stop() noexcept;

  // --- the context the policy reads ----------------------------------------------
  PreemptCount preempt_count() const noexcept {
    return t_->preempt_count.load(std::memory_order_relaxed);
  }
  bool irqs_disabled() const noexcept {
    return t_->irqs_disabled.load(std::memory_order_relaxed) != 0;
  }
  ReschedFlags resched_flags() const noexcept {
    const uint32_t f = t_->resched.load(std::memory_order_relaxed);
    return {(f & detail::kReschedFull) != 0, (f & detail::kReschedLazy) != 0};
  }
  bool in_user_mode() const noexcept;
  // An interrupt is waiting for the soft mask to be lifted (arch_irqs_pending).
  bool interrupt_pending() const noexcept {
    return t_->irq_pending->load(std::memory_order_relaxed) != 0;
  }

  // --- preemption control (inline fast paths) ------------------------------------
  void preempt_disable(std::source_location loc = std::source_location::current()) noexcept {
    add_count(kPreemptDisableOffset, loc);
  }
  // preempt_enable(): a preemption point when the policy says so (FULL, LAZY
  // and RT with the full flag, count back to 0 and IRQs on).
  void preempt_enable() noexcept {
    sub_count(kPreemptDisableOffset);
    if (t_->resched.load(std::memory_order_relaxed) != 0) [[unlikely]] {
      detail::preempt_point(t_, Point::kPreemptEnable);
    }
  }
  // preempt_enable_no_resched(): the decrement alone, never a point.
  void preempt_enable_no_resched() noexcept { sub_count(kPreemptDisableOffset); }

  // local_bh_disable()/enable(): SOFTIRQ_DISABLE_OFFSET. Enabling runs the
  // vCPU's pending softirqs (when no longer in interrupt context) and then
  // preempt_check_resched(), the kPreemptEnable point (softirq.c:427-458).
  // On RT the first entry also enters an RCU read-side section
  // (bh_disable_enters_rcu(), policy.h) and the last runs pending softirqs
  // only where bh_enable_softirqs() says.
  void local_bh_disable(std::source_location loc = std::source_location::current()) noexcept {
    if (t_->rt_bh != 0) [[unlikely]]
      detail::bh_disable_rt(t_);
    add_count(kSoftirqDisableOffset, loc);
  }
  void local_bh_enable() noexcept {
    sub_count(kSoftirqDisableOffset);
    if ((t_->resched.load(std::memory_order_relaxed) | t_->rt_bh |
         static_cast<uint32_t>(t_->softirq_pending->load(std::memory_order_relaxed) != 0)) != 0)
        [[unlikely]] {
      detail::bh_enable_slow(t_);
    }
  }

  // The soft interrupt mask: an interrupt arriving while it is set is recorded
  // as pending and handled when it is cleared (replay). local_irq_enable() is
  // not a preemption point itself (irqflags.h:200-204); a replayed interrupt's
  // own exit is.
  void local_irq_disable(std::source_location loc = std::source_location::current()) noexcept {
    const uint32_t was = t_->irqs_disabled.load(std::memory_order_relaxed);
    t_->irqs_disabled.store(1, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (t_->track_windows != 0 && was == 0) detail::window_begin(t_, detail::kIrqsOffWindow, loc);
  }
  void local_irq_enable() noexcept {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (t_->track_windows != 0 && t_->irqs_disabled.load(std::memory_order_relaxed) != 0) {
      detail::window_end(t_, detail::kIrqsOffWindow);
    }
    t_->irqs_disabled.store(0, std::memory_order_relaxed);
    // Ordering with the handler (same thread): a signal before the store saw
    // the mask and set the pending bit, which the load below sees; a signal
    // after it was handled at once.
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (t_->irq_pending->load(std::memory_order_relaxed) != 0) [[unlikely]] {
      detail::irq_replay(t_);
    }
  }
  [[nodiscard]] unsigned long local_irq_save(
      std::source_location loc = std::source_location::current()) noexcept {
    const unsigned long was = t_->irqs_disabled.load(std::memory_order_relaxed);
    local_irq_disable(loc);
    return was;
  }
  void local_irq_restore(unsigned long flags) noexcept {
    if (flags == 0) local_irq_enable();
  }

  // --- explicit preemption points (out of line) ----------------------------------
  // cond_resched(): __might_resched() debug check, then a point under NONE and
  // VOLUNTARY.
  void cond_resched(std::source_location loc = std::source_location::current()) noexcept;
  // might_sleep(): the sleep-in-atomic debug check, then might_resched().
  void might_sleep(std::source_location loc = std::source_location::current()) noexcept;
  // might_resched(): a point under VOLUNTARY only.
  void might_resched() noexcept;
  // System-call entry and exit. kernel_exit() is the return to user: a
  // preemption point in every model, on either flag.
  void kernel_enter() noexcept;
  void kernel_exit() noexcept;

  // --- blocking and waking ----------------------------------------------------------
  // Every blocking call made in user mode is a system call: it enters the
  // kernel, blocks (schedule()) and returns to user mode (a preemption point).
  // Each returns false when the run is stopping.
  //
  // block(): sleeps until another task (or interrupt work) calls wake(id());
  // a wake() that came first is not lost (one token, as a completion).
  bool block() noexcept;
  // try_to_wake_up() of a task sleeping in block(): local or remote; a remote
  // wakeup sends a reschedule IPI when the policy asks for one.
  void wake(TaskId task) noexcept;
  bool wait_for_completion(Completion& c) noexcept;
  void complete(Completion& c) noexcept;
  // Sleeps until the absolute CLOCK_MONOTONIC instant (an hrtimer on this vCPU
  // wakes the task from the hardirq), or for a duration.
  bool sleep_until(int64_t abs_ns) noexcept;
  bool sleep_ns(int64_t ns) noexcept;
  bool msleep(int64_t ms) noexcept { return sleep_ns(ms * 1'000'000); }
  // Blocks until the task's next absolute release (TaskSpec::period_ns) and
  // records the wakeup latency (back in the body − release) in the task's
  // histogram. A release already in the past returns at once, counted as an
  // overrun. Returns false once the run is stopping; a release the task
  // was woken for is recorded even when the stop arrives before it returns,
  // so the histogram may hold one release more than the calls that returned
  // true.
  bool wait_next_period() noexcept;
  // The release (CLOCK_MONOTONIC ns) of the period the task is in: what the
  // last wait_next_period() waited for; 0 before the first. A job's response
  // time is now_ns() - release_ns() (deadline misses are counted from it).
  int64_t release_ns() const noexcept;

  // --- locks (locks.h) -------------------------------------------------------------
  // Each applies the model's implementation of the lock type (policy.h
  // lock_impl()). Spinning locks add lock_preempt_offset() to the count (a
  // waiter spins with it raised); their unlock is the preempt_enable() point.
  // Sleeping locks first run the might_sleep() check, then block their waiter
  // (schedule()); on RT a Spinlock holder keeps rcu_read_lock(). `loc` is
  // where the lock was taken: it names preempt-off and irq-off windows.
  // Sleeping-lock calls return false (without the lock) once the run is
  // stopping; unlocking a lock the task does not hold does nothing.
  // Inline: preempt_disable() and one CAS when the lock is free and lockdep
  // is off; contention and lockdep take the out-of-line path.
  void raw_spin_lock(RawSpinlock& l,
                     std::source_location loc = std::source_location::current()) noexcept {
    if (t_->lockdep == 0) [[likely]] {
      preempt_disable(loc);
      uint32_t expected = 0;
      if (l.word_.compare_exchange_strong(expected, t_->lock_tid, std::memory_order_acquire))
          [[likely]] {
        // Only the holder writes it: no locked RMW.
        l.acquisitions_.store(l.acquisitions_.load(std::memory_order_relaxed) + 1,
                              std::memory_order_relaxed);
        return;
      }
      raw_spin_lock_contended(l);
      return;
    }
    raw_spin_lock_slow(l, loc);
  }
  void raw_spin_unlock(RawSpinlock& l) noexcept {
    if (t_->lockdep == 0) [[likely]] {
      if ((l.word_.load(std::memory_order_relaxed) & 0x3fffffffu) == t_->lock_tid) {
        l.word_.store(0, std::memory_order_release);
      }
      preempt_enable();
      return;
    }
    raw_spin_unlock_slow(l);
  }
  [[nodiscard]] unsigned long raw_spin_lock_irqsave(
      RawSpinlock& l, std::source_location loc = std::source_location::current()) noexcept;
  void raw_spin_unlock_irqrestore(RawSpinlock& l, unsigned long flags) noexcept;
  bool spin_lock(Spinlock& l, std::source_location loc = std::source_location::current()) noexcept;
  void spin_unlock(Spinlock& l) noexcept;
  // On RT the IRQ state is left alone (flags 0), as spinlock_rt.h does.
  [[nodiscard]] unsigned long spin_lock_irqsave(
      Spinlock& l, std::source_location loc = std::source_location::current()) noexcept;
  void spin_unlock_irqrestore(Spinlock& l, unsigned long flags) noexcept;
  bool mutex_lock(Mutex& l, std::source_location loc = std::source_location::current()) noexcept;
  void mutex_unlock(Mutex& l) noexcept;
  bool rt_mutex_lock(RtMutex& l,
                     std::source_location loc = std::source_location::current()) noexcept;
  void rt_mutex_unlock(RtMutex& l) noexcept;
  // The task's current emulated priority: its own, or the priority of a
  // waiter it inherited through an rt_mutex (0 for a fair task not boosted).
  int effective_priority() const noexcept;

  // --- per-CPU data ----------------------------------------------------------------
  // get_cpu(): preempt_disable() and the vCPU's index; put_cpu():
  // preempt_enable(). The slot stays this task's until put_cpu(), but the
  // local interrupt handler may still run in between.
  int get_cpu(std::source_location loc = std::source_location::current()) noexcept;
  void put_cpu() noexcept;
  template <typename T>
  T& this_cpu(PerCpu<T>& var) noexcept {
    return var.on(vcpu());
  }

  // --- work and time ------------------------------------------------------------------
  // Busy work: spins on the clock until the task itself has run `ns`: time it
  // spent switched out, interrupt handlers on its CPU and host stalls
  // (VcpuStats::host_stolen_ns) do not count, as the kernel does not charge
  // interrupt time to the interrupted task. Passes no preemption point.
  // Returns early when the run is stopping.
  void compute(int64_t ns) noexcept;
  // CLOCK_MONOTONIC ns.
  int64_t now_ns() const noexcept;
  // Ticks handled so far on this task's vCPU.
  uint64_t vcpu_ticks() const noexcept;

 private:
  // raw_spin_lock()'s out-of-line parts: with lockdep, and the spin (the
  // count already raised).
  void raw_spin_lock_slow(RawSpinlock& l, std::source_location loc) noexcept;
  void raw_spin_unlock_slow(RawSpinlock& l) noexcept;
  void raw_spin_lock_contended(RawSpinlock& l) noexcept;
  void add_count(PreemptCount v, const std::source_location& loc) noexcept {
    const PreemptCount old = t_->preempt_count.load(std::memory_order_relaxed);
    t_->preempt_count.store(old + v, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (t_->track_windows != 0 && (old & detail::kWindowMask) == 0) {
      detail::window_begin(t_, detail::kPreemptOffWindow, loc);
    }
  }
  void sub_count(PreemptCount v) noexcept {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    const PreemptCount old = t_->preempt_count.load(std::memory_order_relaxed);
    t_->preempt_count.store(old - v, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (t_->track_windows != 0 && ((old - v) & detail::kWindowMask) == 0 &&
        (old & detail::kWindowMask) != 0) {
      detail::window_end(t_, detail::kPreemptOffWindow);
    }
  }

  detail::TaskHot* t_;
};

}  // namespace pb::exec
