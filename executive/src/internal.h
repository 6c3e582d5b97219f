// The executive's private state: tasks, virtual CPUs, the runqueue, the raw
// spin lock, hrtimers. Shared by executive.cc (setup, teardown, watchdog),
// sched.cc (switching, wakeups, blocking) and irq.cc (interrupts).
//
// Who writes what:
// - "own": the task's own thread (and its own signal handlers).
// - "oncpu": whichever task is on the vCPU (oncpu == true); hand-over between
//   two such tasks is ordered by the gate futex (release store, acquire load).
// - "rq": under the vCPU's rq lock, taken only with IRQs soft-disabled.
#pragma once

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <source_location>
#include <string>
#include <utility>
#include <vector>

#include "pb/cycleclock.h"
#include "pb/executive/executive.h"
#include "pb/executive/fair.h"
#include "pb/executive/irq_line.h"
#include "pb/executive/locks.h"
#include "pb/executive/policy.h"
#include "pb/executive/task.h"
#include "pb/histogram.h"

namespace pb::exec::detail {

struct Vcpu;
struct ExecState;

// --- raw spin lock --------------------------------------------------------------------
// Test-and-test-and-set. Held only with IRQs soft-disabled (so a signal
// handler on the holder's thread never spins on it) and never across a
// futex_wake of a task of the same vCPU (which could preempt the holder on
// the host and spin forever against it).
class RawSpinLock {
 public:
  void lock() noexcept {
    for (;;) {
      if (word_.exchange(1, std::memory_order_acquire) == 0) return;
      while (word_.load(std::memory_order_relaxed) != 0) pb::cpu_relax();
    }
  }
  bool try_lock() noexcept { return word_.exchange(1, std::memory_order_acquire) == 0; }
  void unlock() noexcept { word_.store(0, std::memory_order_release); }

 private:
  std::atomic<uint32_t> word_{0};
};

// --- hrtimers ---------------------------------------------------------------------------
// A one-shot timer of one vCPU, fired in hardirq context on that vCPU's
// current task. Armed and cancelled only from that vCPU (its tasks or their
// interrupts), under the rq lock.
struct Hrtimer {
  int64_t expires = 0;
  void (*fn)(Hrtimer*, Task* curr) = nullptr;  // curr: the interrupted task
  Task* task = nullptr;                        // the task fn acts on
  void* owner = nullptr;                       // a Device, for device interrupts
  int heap_index = -1;                         // position in the vCPU's heap; -1 when not queued
  // A direct sleeper's own timer (an RT task under Config::direct_wakeup with
  // host SCHED_FIFO): its thread waits on its gate until `expires`, then
  // takes the wakeup itself or rings the current task (direct_wakeup()).
  bool direct = false;
};

// A fixed-capacity binary min-heap of hrtimers (storage allocated at setup).
class HrtimerHeap {
 public:
  void reserve(size_t n) {
    heap_.reserve(n);
    cap_ = n;
  }
  bool empty() const noexcept { return heap_.empty(); }
  Hrtimer* top() const noexcept { return heap_.empty() ? nullptr : heap_.front(); }
  // The earliest expiry after top()'s (a child of the root); INT64_MAX when
  // there is none.
  int64_t second_expires() const noexcept {
    int64_t e = INT64_MAX;
    for (size_t i = 1; i <= 2 && i < heap_.size(); ++i) e = std::min(e, heap_[i]->expires);
    return e;
  }
  bool push(Hrtimer* h) noexcept;  // false when full (never, sized at setup)
  void remove(Hrtimer* h) noexcept;
  Hrtimer* pop() noexcept;

 private:
  void sift_up(size_t i) noexcept;
  void sift_down(size_t i) noexcept;
  void place(size_t i, Hrtimer* h) noexcept {
    heap_[i] = h;
    h->heap_index = static_cast<int>(i);
  }
  std::vector<Hrtimer*> heap_;
  size_t cap_ = 0;
};

// --- tasks ---------------------------------------------------------------------------------
enum class TaskState : uint8_t { kRunning, kBlocked, kDead };
enum class Mode : uint8_t { kUser, kKernel };

struct Task : TaskHot {
  // Identity (immutable after setup).
  TaskId id = -1;  // -1 for an idle task
  char name[32] = {};
  Policy policy = Policy::kFair;
  int priority = 0;
  bool is_idle = false;
  TaskClass cls{};
  Vcpu* v = nullptr;
  ExecState* ex = nullptr;
  std::function<void(TaskApi&)> body;
  int64_t period_ns = 0;
  int64_t phase_ns = 0;

  // Host thread (set by the thread before it reports ready).
  pthread_t thread{};
  bool thread_started = false;
  pid_t tid = 0;
  timer_t timer{};
  bool timer_created = false;
  int setup_error = 0;

  // Scheduler state (rq).
  TaskState state = TaskState::kRunning;
  bool on_rq = false;
  Task* rq_next = nullptr;
  Task* rq_prev = nullptr;
  bool requeue_tail = false;  // the next requeue goes to the tail (RR expiry)
  int rr_ticks_left = 0;
  // The fair class's entity (fair.h): vruntime, deadline, lag. Linked by the
  // vCPU's FairRunQueue (under the rq lock) while the task is a fair one.
  FairEntity se;

  // Dispatch gate: 1 = dispatched. Set by the dispatcher, reset by the task.
  std::atomic<uint32_t> gate{0};
  // True while this thread runs emulated code (own).
  std::atomic<bool> oncpu{false};
  Mode mode = Mode::kUser;  // own

  // Timing (own / oncpu).
  int64_t picked_ns = 0;  // when it last became current
  int64_t parked_ns = 0;  // when it last left the CPU
  // Total time switched out, for compute(); written by this task's own
  // thread, in its signal handlers too (atomic: a handler may interrupt a read).
  std::atomic<int64_t> offcpu_ns{0};
  // When its last wakeup asked for a reschedule (rq_lock): the start of the
  // model-induced delay recorded when it is next switched in; 0 = none.
  int64_t wake_req_ns = 0;
  int64_t wake_req_stolen_ns = 0;  // its vCPU's host_stolen_ns at that moment
  int64_t armed_ns = 0;            // its POSIX timer's expiry, 0 = disarmed (own)
  bool parked_armed = false;       // in its vCPU's parked_armed set (oncpu)
  std::atomic<uint64_t> timer_syscalls{0};

  // Blocking.
  Hrtimer sleep_timer;      // msleep / wait_next_period
  Completion wake_token;    // block() / wake()
  Task* wq_next = nullptr;  // a Completion's waiter list
  bool wq_queued = false;
  int64_t next_release_ns = 0;

  // Accounting (own).
  uint64_t dispatches = 0;
  uint64_t preempted = 0;
  uint64_t blocked = 0;
  int64_t runtime_ns = 0;   // summed dispatch-to-switch-out intervals (own)
  int64_t wait_ns = 0;      // summed runnable-to-dispatch intervals (rq)
  int64_t runnable_ns = 0;  // when it last became runnable and waiting; 0 = not (rq)
  std::array<uint64_t, kNumPoints> preempted_at{};  // (own)
  uint64_t periods = 0;
  uint64_t overruns = 0;
  std::atomic<uint64_t> stale_signals{0};
  std::atomic<uint64_t> ipis_received{0};  // IPI signals that reached this thread
  int irq_depth = 0;  // irq_loop() frames on this thread's stack (own, handlers included)

  // Direct preemption (Config::direct_wakeup; DESIGN.md, "Direct preemption").
  // handler_state: this thread's signal-handler frames in the low bits (own:
  // bumped first thing in the handler, dropped last), and kTakenDirectly, set
  // by a wakee's thread (compare-exchange from 0, under the rq lock, while
  // this task is current and stopped on the host) when it switched this task
  // out directly. The handler that finds the bit parks before it does
  // anything else.
  std::atomic<uint32_t> handler_state{0};
  // The expiry of the hrtimer sleep this task is in (sleep_until()), 0 when
  // not sleeping (own).
  std::atomic<int64_t> direct_sleep_ns{0};
  std::array<std::atomic<uint64_t>, kNumDirectFallbacks> direct_fallbacks{};
  std::shared_ptr<LatencyHistogram> wakeup_hist;
  std::shared_ptr<LatencyHistogram> delay_hist;

  // Locks (locks.cc). cls above is the effective class: base_cls raised by
  // priority inheritance; changed only under this task's rq lock, and only
  // while it is not on the runqueue (dequeue, change, enqueue).
  TaskClass base_cls{};                            // immutable after setup
  std::array<LockBase*, kMaxHeldLocks> held_pi{};  // sleeping PI locks held (own)
  int n_held_pi = 0;
  // The sleeping lock it waits for (written under that lock's wait_lock;
  // read without it by a PI chain walk, which re-checks under the lock).
  std::atomic<LockBase*> blocked_on{nullptr};
  bool blocked_on_pi = false;  // blocked_on is a PI lock (that lock's wait_lock)
  Task* lock_next = nullptr;   // that lock's waiter list (its wait_lock)
  uint32_t rcu_depth = 0;      // rcu_read_lock() nesting from RT spinlocks and BH (own)
  bool bh_rcu = false;         // RT: its BH-disabled section holds rcu_read_lock() (own)
  // lockdep-lite: classes of the locks held, in acquisition order (own).
  std::array<uint8_t, 16> held_classes{};
  int n_held_classes = 0;
  // Preempt-off and irq-off windows (own): where and when the outermost
  // disable happened (cycle counter).
  uint64_t poff_start = 0;
  std::source_location poff_loc;
  uint64_t ioff_start = 0;
  std::source_location ioff_loc;

  // The host class (hostclass.cc): what the thread's host policy should be,
  // kHostOther (SCHED_OTHER at nice -20) or 1..98 (SCHED_FIFO at that
  // priority), kHostExited (SCHED_IDLE) once the task has exited;
  // kHostUnmanaged when the run does not use host SCHED_FIFO.
  // host_want follows cls (written where cls is, under the rq lock);
  // host_applied is what the last sched_setscheduler() set, written only by
  // the holder of host_apply (a try-lock: the loser leaves the work to the
  // holder, which re-checks host_want before it lets go).
  std::atomic<int> host_want{-1};
  std::atomic<int> host_applied{-1};
  std::atomic<uint32_t> host_apply{0};
};

// --- the runqueue ------------------------------------------------------------------------
// Per-priority FIFO lists for RT 1..99 with a bitmap, and the fair class's
// EEVDF queue (fair.h). The current task is on no RT list; a current fair task
// is the fair queue's curr until a pick puts it back. Task::on_rq: runnable
// and waiting for the CPU. Intrusive: no allocation. Under the vCPU's rq lock.
class RunQueue {
 public:
  FairRunQueue& fair() noexcept { return fair_; }
  const FairRunQueue& fair() const noexcept { return fair_; }
  // A task becomes runnable: RT at the tail of its list; fair through
  // enqueue_task_fair() (a delayed sleeper is requeued where it is).
  void activate(Task* t, int64_t clock, FairEnqueue kind) noexcept;
  // The current task stays runnable at a switch: RT at the head of its list
  // (the tail after an RR expiry); a fair one stays the fair queue's curr and
  // the pick puts it back (put_prev_entity()).
  void requeue_prev(Task* t, bool at_head) noexcept;
  // A task stops being runnable (blocks, exits) or leaves its class: RT off
  // its list if queued; fair through dequeue_task_fair() (a sleeper that is
  // not eligible stays queued, delayed).
  void deactivate(Task* t, int64_t clock, FairDequeue kind) noexcept;
  // pick_next_task(): the highest RT priority, FIFO within it (a fair curr is
  // put back first: put_prev_task_fair()); else the fair class's pick; null
  // when nothing is runnable.
  Task* pick(int64_t clock) noexcept;
  bool has_rt_prio(int prio) const noexcept;
  // The highest RT priority queued, 0 when none.
  int top_rt_prio() const noexcept;
  // Runnable tasks waiting for the CPU.
  uint32_t nr_running() const noexcept;

 private:
  struct List {
    Task* head = nullptr;
    Task* tail = nullptr;
  };
  void push_rt(Task* t, bool at_head) noexcept;
  void erase_rt(Task* t) noexcept;
  std::array<List, 100> rt_{};
  std::array<uint64_t, 2> bitmap_{};  // bit p set when rt_[p] non-empty
  uint32_t nr_rt_ = 0;
  FairRunQueue fair_;
};

// --- virtual CPUs ------------------------------------------------------------------------
// Pending interrupt bits (Vcpu::irq_pending).
// A gap longer than this between two clock reads of compute()'s loop (a few
// tens of ns apart) that the task's time switched out and signal handlers do
// not explain is a host stall: the hypervisor's steal or the host kernel.
inline constexpr int64_t kHostStallNs = 20'000;

// Links a PI chain walk follows (the kernel's max_lock_depth is 1024; a
// workload here nests at most kMaxHeldLocks deep).
inline constexpr int kMaxPiChainDepth = 8;

inline constexpr uint32_t kIrqTimer = 1u << 0;
inline constexpr uint32_t kIrqIpi = 1u << 1;

enum AcctState : uint8_t { kAcctUser, kAcctKernel, kAcctIrq, kAcctIdle, kAcctStates };

struct Vcpu {
  int index = 0;
  int host_cpu = -1;
  ExecState* ex = nullptr;

  RawSpinLock rq_lock;
  RunQueue rq;                          // rq
  std::atomic<Task*> current{nullptr};  // written under rq
  Task* idle = nullptr;
  HrtimerHeap timers;  // rq

  std::atomic<uint32_t> irq_pending{0};     // kIrq* bits
  std::atomic<uint32_t> ipi_pending{0};     // one IPI in flight (coalescing)
  std::atomic<uint32_t> idle_seq{0};        // bumped by interrupts on the idle task
  std::atomic<uint64_t> heartbeat{0};       // points and interrupts (oncpu), read by the watchdog
  std::atomic<int64_t> softirq_pending{0};  // raised softirq work, ns (local_softirq_pending)
  // Host stalls (see compute()): time the host took this vCPU's CPU away
  // (the hypervisor's steal, the host kernel) while a task computed, and the
  // signal-handler time that explains the rest of a gap. Written on the
  // vCPU's host CPU; read by wakers and the result.
  std::atomic<int64_t> host_stolen_ns{0};
  std::atomic<int64_t> handler_ns{0};
  // Emulated RT-class busy time (hostclass.cc): what a real kernel's RT
  // throttling would charge. rt_since_ns is when the current task became
  // RT-class (0: it is not); both updated with atomic exchanges by the
  // dispatched task and by class changes of the current task.
  std::atomic<int64_t> rt_since_ns{0};
  std::atomic<int64_t> rt_busy_ns{0};
  // The fair class's clock (rq_clock_task()): the last value handed out by
  // task_clock_locked(), which keeps it monotonic (rq).
  int64_t task_clock_ns = 0;
  Task* ksoftirqd = nullptr;  // when the vCPU has device interrupts
  std::atomic<uint32_t> ksoftirqd_woken{0};

  // Timekeeping (oncpu, or rq).
  int64_t tick_period_ns = 0;
  int64_t next_tick_ns = 0;
  std::atomic<int64_t> programmed_ns{0};  // min(next tick, first hrtimer)
  // The same for the idle task, which skips a first timer that is direct
  // (arm_target()).
  std::atomic<int64_t> programmed_idle_ns{0};
  int rr_ticks = 1;
  // Parked tasks whose timer is still armed (Config::parked_armed_timers).
  std::array<Task*, 16> parked_armed{};
  int n_parked_armed = 0;
  int max_parked_armed = 0;

  // Accounting (oncpu).
  VcpuStats stats;
  // Longest windows (cycle counter ticks) and where they began.
  uint64_t poff_max_ticks = 0;
  std::source_location poff_max_loc;
  uint64_t ioff_max_ticks = 0;
  std::source_location ioff_max_loc;
  std::atomic<uint64_t> lock_contentions{0};  // by tasks of this vCPU (also off-CPU paths)
  std::atomic<uint64_t> pi_boosts{0};
  std::shared_ptr<LatencyHistogram> tick_lateness;  // allocated at setup
  std::shared_ptr<LatencyHistogram> ipi_lateness;
  std::atomic<int64_t> ipi_sent_ns{0};  // the in-flight IPI's send time
  uint64_t acct_stamp = 0;
  AcctState acct_state = kAcctIdle;
  std::array<uint64_t, kAcctStates> acct_ticks{};
};

// rq_clock_task() of `v`: CLOCK_MONOTONIC less the time its signal handlers
// (interrupts) and host stalls took, so the fair class charges a task only
// its own execution (IRQ_TIME_ACCOUNTING, steal accounting). Monotonic.
// REQUIRES: v's rq lock held.
int64_t task_clock_locked(Vcpu* v) noexcept;

// --- device interrupts ---------------------------------------------------------------------
struct Device {
  IrqSpec spec;
  int index = 0;
  Vcpu* v = nullptr;
  Hrtimer timer;  // the device's firings (periodic)
  // The interrupt controller raising a firing latched by the masked line at
  // the unmask (irq_finalize_oneshot()): an hrtimer at "now" whose callback
  // is the hardirq.
  Hrtimer unmask_timer;
  bool threaded = false;  // irq_threaded(): the handler runs in `thread`
  Task* thread = nullptr;
  // The line as the kernel's IRQ layer runs it (irq_line.h). Touched on the
  // device's vCPU only, with IRQs soft-off (its hardirq, or its thread).
  IrqLine line;
};

// --- lockdep-lite ---------------------------------------------------------------------------
// Lock classes are lock names; at most kLockdepClasses per run (more are not
// tracked, with a note). The dependency graph is a bit matrix: after[a] has
// bit b when some task took b while holding a.
inline constexpr int kLockdepClasses = 64;
struct Lockdep {
  RawSpinLock lock;  // taken with IRQs soft-disabled
  uint64_t run = 0;  // this run's id (lock objects cache their class per run)
  int n = 0;
  bool overflow = false;
  std::array<const char*, kLockdepClasses> names{};
  std::array<std::atomic<uint64_t>, kLockdepClasses> after{};
  std::array<std::atomic<uint8_t>, kLockdepClasses> usage{};  // bit 0 IRQs off, bit 1 on
  std::array<uint64_t, kLockdepClasses> cycle_reported{};     // pairs already reported
};

// --- the executive's shared state -------------------------------------------------------
struct ExecState {
  Config cfg;
  std::vector<std::unique_ptr<Vcpu>> vcpus;
  std::vector<std::unique_ptr<Task>> tasks;  // user tasks, by id
  std::vector<std::unique_ptr<Task>> idles;
  std::vector<std::unique_ptr<Task>> ktasks;  // ksoftirqd and IRQ threads
  std::vector<std::unique_ptr<Device>> devices;
  bool host_fifo = false;
  int64_t start_ns = 0;

  // Run control.
  std::atomic<uint32_t> stopping{0};   // every point checks it
  std::atomic<uint32_t> stop_word{0};  // run_for() waits on it
  std::atomic<uint32_t> aborted{0};    // the watchdog ended the run
  std::atomic<uint32_t> ready{0};      // threads set up
  std::atomic<uint32_t> debug_reports{0};
  // Set before every executive thread is demoted to SCHED_OTHER (watchdog,
  // teardown): no host class change may raise one again after it.
  std::atomic<uint32_t> host_rt_off{0};
  std::atomic<uint64_t> host_class_changes{0};  // sched_setscheduler() calls after setup
  Lockdep lockdep;
  // Every thread of the run by host TID, sorted (built by start()).
  std::vector<std::pair<pid_t, Task*>> by_tid;
};

// Completion internals (its lock is a raw spin lock, taken with IRQs
// soft-disabled).
struct CompletionAccess {
  static std::atomic<uint32_t>& lock_word(Completion& c) { return c.lock_; }
  static uint32_t& done(Completion& c) { return c.done_; }
  static Task*& head(Completion& c) { return c.head_; }
  static Task*& tail(Completion& c) { return c.tail_; }
  static void lock(Completion& c) {
    while (c.lock_.exchange(1, std::memory_order_acquire) != 0) {
      while (c.lock_.load(std::memory_order_relaxed) != 0) pb::cpu_relax();
    }
  }
  static void unlock(Completion& c) { c.lock_.store(0, std::memory_order_release); }
};

// Lock internals, under the lock's wait_lock (a raw spin lock taken with
// IRQs soft-disabled).
struct LockAccess {
  static std::atomic<uint32_t>& word(LockBase& l) { return l.word_; }
  static std::atomic<int>& top_prio(LockBase& l) { return l.top_prio_; }
  static std::atomic<uint64_t>& lockdep_key(LockBase& l) { return l.lockdep_key_; }
  static Task*& waiters(LockBase& l) { return l.waiters_; }
  static void lock(LockBase& l) {
    while (l.wait_lock_.exchange(1, std::memory_order_acquire) != 0) {
      while (l.wait_lock_.load(std::memory_order_relaxed) != 0) pb::cpu_relax();
    }
  }
  static void unlock(LockBase& l) { l.wait_lock_.store(0, std::memory_order_release); }
  // Called by the new holder only, with the lock held: a plain increment (no
  // locked RMW on the fast path); read after the run.
  static void count_acquire(LockBase& l) {
    l.acquisitions_.store(l.acquisitions_.load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
  }
  static void count_contention(LockBase& l, int64_t waited_ns) {
    l.contentions_.fetch_add(1, std::memory_order_relaxed);
    int64_t m = l.max_wait_ns_.load(std::memory_order_relaxed);
    while (waited_ns > m &&
           !l.max_wait_ns_.compare_exchange_weak(m, waited_ns, std::memory_order_relaxed)) {
    }
  }
  static void count_boost(LockBase& l) { l.pi_boosts_.fetch_add(1, std::memory_order_relaxed); }
};

// --- shared functions ----------------------------------------------------------------------
enum class SwitchKind : uint8_t { kPreempt, kBlock, kExit, kIdle };

inline Task* to_task(TaskHot* h) noexcept { return static_cast<Task*>(h); }
inline bool stopping(const Task* t) noexcept {
  return t->ex->stopping.load(std::memory_order_relaxed) != 0;
}

// sched.cc
// `off_cpu`, when set, runs on t's thread after the next task was
// dispatched and before t parks: t is off the CPU (it runs no emulated
// code and its interrupts are forwarded), so it may block on the host.
using OffCpuHook = void (*)(Task* t, void* arg);
void schedule_core(Task* t, Point p, SwitchKind kind, bool from_irq, OffCpuHook off_cpu = nullptr,
                   void* off_cpu_arg = nullptr) noexcept;
// schedule() of a task that set itself blocked: the scheduling-while-atomic
// check, the policy consultation and the switch.
void schedule_block(Task* t, OffCpuHook off_cpu = nullptr, void* arg = nullptr,
                    bool rtlock_wait = false) noexcept;
Context context_of(const Task* t) noexcept;
void record_decision(Vcpu* v, Point p, const Decision& d) noexcept;
uint32_t irq_save(Task* t) noexcept;
void irq_restore_noreplay(Task* t, uint32_t was) noexcept;
void irq_restore_replay(Task* t, uint32_t was) noexcept;
// Sets the flag `r` on `curr` as resched_curr() says; under curr's rq lock.
ReschedAction resched_locked(Task* curr, Resched r, bool remote) noexcept;
// lockdep.cc: before a lock is taken (the order check), after (the held
// stack, IRQ usage), at release, and at the return to user (held locks).
void lockdep_before_slow(Task* t, LockBase& l) noexcept;
void lockdep_acquired_slow(Task* t, LockBase& l) noexcept;
void lockdep_released_slow(Task* t, LockBase& l) noexcept;
// The lock fast paths pay one predictable branch when lockdep is off.
inline void lockdep_before(Task* t, LockBase& l) noexcept {
  if (t->ex->cfg.lockdep) lockdep_before_slow(t, l);
}
inline void lockdep_acquired(Task* t, LockBase& l) noexcept {
  if (t->ex->cfg.lockdep) lockdep_acquired_slow(t, l);
}
inline void lockdep_released(Task* t, LockBase& l) noexcept {
  if (t->ex->cfg.lockdep) lockdep_released_slow(t, l);
}
void lockdep_user_return(Task* t) noexcept;
// Makes a blocked task runnable from a thread that is not on any vCPU (a
// lock waiter whose host wait ended): enqueues it and asks its vCPU's
// current task to reschedule as a remote wakeup would (an IPI when the
// policy says so). Returns whether it was woken.
bool wake_from_host(Task* p) noexcept;
void might_sleep_check(Task* t, const std::source_location& loc) noexcept;
// Waits on t's gate until dispatched (or the run stops). A sleeper under
// Config::direct_wakeup passes its hrtimer's expiry as `direct_deadline`:
// the wait then ends at that instant too (a futex timeout: the host's
// hrtimer wakes the thread, as clock_nanosleep() would) and it tries
// direct_wakeup() once before waiting on.
void park_until_dispatched(Task* t, int64_t direct_deadline = 0) noexcept;
// Direct preemption (Config::direct_wakeup), on the thread of a sleeping
// task `b` waiting on its gate, when its hrtimer has expired: if every
// condition holds, wakes b and switches the vCPU's current task out in its
// place (b's gate is opened: it passes it as if dispatched). False: the
// wakeup is left to the current task's timer interrupt (a due wakeup that
// could not go direct is counted in b->direct_fallbacks).
bool direct_wakeup(Task* b) noexcept;
// In the handler of a task that a direct wakeup switched out
// (kTakenDirectly): parks until dispatched again, as a switch at irq exit.
void direct_park(Task* t) noexcept;
inline constexpr uint32_t kTakenDirectly = 1u << 31;
// handler_state of the idle task (Config::direct_wakeup only): its thread
// is in, or about to enter, its idle loop's futex_wait(idle_seq). A wakee
// finding exactly this bit claims the idle task by one compare-exchange
// (kIdleWaiting -> kIdleWaiting | kTakenDirectly) without the doorbell; the
// idle loop, back from its wait, takes the claim (clearing both bits at
// once) and parks on its gate (idle_loop()).
inline constexpr uint32_t kIdleWaiting = 1u << 30;
void on_dispatched(Task* t) noexcept;
void dispatch_first(Vcpu* v) noexcept;  // from start(), by the main thread
// try_to_wake_up(): from task or hardirq context of `waker` (the current task
// of its vCPU). Returns whether the task was woken.
bool try_to_wake_up(Task* waker, Task* p) noexcept;
void set_state_blocked(Task* t) noexcept;
// complete() without the preemption point: from hardirq context, or where
// the caller passes its own point.
void complete_noresched(Task* waker, Completion& c) noexcept;
void set_state_running(Task* t) noexcept;
void request_stop(ExecState* ex) noexcept;
void acct_switch(Vcpu* v, AcctState s) noexcept;
AcctState acct_state_of(const Task* t) noexcept;
void debug_report(Task* t, const char* text) noexcept;
void idle_loop(Task* t) noexcept;
void task_main_loop(Task* t) noexcept;

// hostclass.cc: the host class mirrors the emulated class when the run uses
// host SCHED_FIFO (DESIGN.md, "Host class"). Emulated RT tasks and IRQ
// threads run at host SCHED_FIFO, fair tasks, ksoftirqd and the idle task
// at SCHED_OTHER nice -20, so the host's RT throttling charges exactly what
// a real kernel's would.
inline constexpr int kHostUnmanaged = -1;
inline constexpr int kHostOther = 0;
// After the task's last schedule(): SCHED_IDLE (host_class_exited()).
inline constexpr int kHostExited = -2;
// The host class for an emulated class: kHostOther or an RT priority 1..98
// (capped so that nothing of ours ties with the watchdog's 99).
int host_class_for(const TaskClass& c) noexcept;
// On t's own thread, pinned, before it reports ready: sets host_want and
// applies it (or SCHED_OTHER when the run does not use SCHED_FIFO).
// Returns 0 or -errno.
int host_class_setup(Task* t) noexcept;
// After t->cls changed (under t's rq lock): records the new want and, when
// t is its vCPU's current task, moves the RT-class busy accounting.
void host_class_changed_locked(Task* t) noexcept;
// Applies t's wanted host class if it differs from the applied one. From
// any thread that holds no executive spin lock (a raised thread may preempt
// the caller on the host). Never raises anything after host_rt_off.
void host_class_sync(Task* t) noexcept;
// At every dispatch, on the dispatched task's thread: the RT-class busy
// accounting of its vCPU and its own pending host class change.
void host_class_dispatched(Task* t) noexcept;
// On an exiting task's thread, after its last schedule() opened the next
// task's gate: drops the thread to SCHED_IDLE for the rest of its life (its
// timer's disarm, libc's and the kernel's thread exit), which is no work of
// the emulated kernel and must not hold off the next task's thread on the
// vCPU's CPU. Not counted in host_class_changes.
void host_class_exited(Task* t) noexcept;
// The vCPU's RT-class busy time up to `now_ns`.
int64_t rt_busy_until(const Vcpu* v, int64_t now_ns) noexcept;

// irq.cc
void install_signal_handlers() noexcept;
void restore_signal_handlers() noexcept;
int tick_signal() noexcept;
int ipi_signal() noexcept;
int forward_signal() noexcept;
sigset_t our_signals() noexcept;  // the three above
// Handles every pending interrupt of t's vCPU on t (which is on the CPU with
// IRQs enabled in the interrupted context), each followed by the irq-exit
// preemption decision.
void irq_loop(Task* t, bool replay, int64_t entry_ns = 0) noexcept;
void timer_arm(Task* t, int64_t abs_ns) noexcept;
void timer_disarm(Task* t) noexcept;
// Queues an hrtimer on t's vCPU (t current there) and reprograms t's timer
// when it is the new first expiry. Under rq.
void hrtimer_start_locked(Task* t, Hrtimer* h, int64_t expires) noexcept;
void device_unmask_fire(Hrtimer* h, Task* curr) noexcept;
void hrtimer_cancel_locked(Vcpu* v, Hrtimer* h) noexcept;
void update_programmed_locked(Vcpu* v) noexcept;
// The expiry t's timer is armed for while t is current: programmed_ns, or
// for the idle task programmed_idle_ns.
int64_t arm_target(const Task* t, const Vcpu* v) noexcept;
// The tick on t, the vCPU's current task (due: now >= next_tick_ns): missed
// periods, the next tick, scheduler_tick(). Under v's rq lock. `entry_ns`:
// when the interrupt was entered (tick lateness), 0 for a replay.
void tick_locked(Task* t, Vcpu* v, int64_t now, int64_t entry_ns) noexcept;
void send_ipi(Task* sender, Vcpu* target, Task* target_curr) noexcept;
// Softirqs.
void raise_softirq(Vcpu* v, int64_t ns) noexcept;
// handle_softirqs() in task context (local_bh_enable(), ksoftirqd):
// SOFTIRQ_OFFSET on t, rounds bounded by softirq_after_round(); wakes
// ksoftirqd when the bounds end the run. (At irq exit, irq_loop() runs the
// same rounds with the offset raised before IRQs are enabled.)
void run_softirqs(Task* t) noexcept;
void wakeup_softirqd(Task* curr, Vcpu* v) noexcept;
void device_fire(Hrtimer* h, Task* curr) noexcept;
void spin_ns(int64_t ns) noexcept;
// The bodies of the kernel's own tasks: vCPU v's ksoftirqd
// (run_ksoftirqd()) and device d's IRQ thread (irq_thread()) under model m.
void ksoftirqd_body(TaskApi& api, Vcpu* v);
void irq_thread_body(TaskApi& api, Device* d, Model m);

// The task this thread runs, for signal handlers: static TLS (the executive
// is linked statically), initial-exec, so a first access never allocates.
extern __thread Task* tls_task __attribute__((tls_model("initial-exec")));

}  // namespace pb::exec::detail
