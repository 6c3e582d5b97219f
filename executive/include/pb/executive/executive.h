// The executive: a user-space kernel that runs emulated tasks on real,
// pinned threads under one of Linux's preemption models (NONE, VOLUNTARY,
// FULL, LAZY, RT) and decides, at each preemption point, what that model
// would do. DESIGN.md ("The executive: mechanism") explains the mechanism
// and its costs.
//
// Shape of a run:
//   Executive ex({.model = Model::kFull});
//   TaskId a = ex.add_task({.name = "a", .policy = Policy::kFifo, .priority = 10,
//                           .body = [&](TaskApi& api) { ... }});
//   if (ex.start() != 0) ... ex.error();
//   ex.run_for(50'000'000);            // or until a task calls request_stop()
//   const RunResult& r = ex.result();  // counters, traces, histograms
//
// Mechanism in one paragraph. Each virtual CPU is one host CPU; each task is
// a pthread pinned to it whose host class mirrors its emulated class when
// allowed (RT: SCHED_FIFO at its priority; fair and idle: SCHED_OTHER at
// nice -20, so the host's RT throttling charges what a real kernel's would;
// DESIGN.md, "Host class"). Only the vCPU's `current` task runs emulated code: every other
// task waits on its own futex "gate" until the emulated scheduler dispatches
// it, so the host stays authoritative about who runs and the executive only
// gates. Interrupts are signals delivered to the current task's thread (a
// POSIX timer per task thread, SIGEV_THREAD_ID, for the tick and hrtimers; a
// tgkill for reschedule IPIs); the handler is the hardirq. Every "switch now
// or defer" is pb::exec::decide() (policy.h).
//
// Machine safety. By default one vCPU, on the last allowed CPU, never CPU 0;
// more vCPUs or CPU 0 only with allow_system_cpu. A watchdog thread on the
// system CPU ends the run (every executive thread demoted to SCHED_OTHER, the
// run aborted, a message) when a vCPU's current task runs past the budget
// without passing a preemption point or taking an interrupt, or the run
// overstays its deadline.
//
// Signals used: SIGRTMIN+4 (timer interrupts), SIGRTMIN+5 (IPIs) and
// SIGRTMIN+6 (forwarding an interrupt to the current task), process-wide
// while an executive runs; one executive runs at a time per process (start()
// fails with -EBUSY otherwise).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pb/executive/policy.h"
#include "pb/executive/preempt_count.h"
#include "pb/executive/task.h"
#include "pb/histogram.h"

namespace pb::exec {

struct TaskSpec {
  std::string name;  // up to 31 bytes are kept
  Policy policy = Policy::kFair;
  int priority = 0;  // 1..99 for kFifo and kRr; ignored for kFair
  int nice = 0;      // kFair: -20..19, its weight (sched_prio_to_weight[], fair.h)
  int vcpu = 0;
  // Created blocked (in block()); someone must wake() it.
  bool start_blocked = false;
  // wait_next_period(): releases at start + phase_ns + k * period_ns.
  int64_t period_ns = 0;
  int64_t phase_ns = 0;
  // Allocate the task's latency histograms (wakeup latency and model-induced
  // delay) at setup; on by default for periodic tasks. ~60 KiB per task.
  bool histograms = false;
  std::function<void(TaskApi&)> body;
};

// A synthetic device interrupt: fires every period_ns on its vCPU (an
// hrtimer; late expiries coalesce, as a level-triggered line), runs
// handler_ns of handler work and raises softirq_ns of softirq work. Where the
// handler runs is irq_threaded(model, flags, threadirqs) (policy.h): in the
// hardirq on the interrupted task, or in the IRQ's own thread (an emulated
// SCHED_FIFO task at thread_priority) woken from the hardirq. Softirqs go
// where softirq_at_irq_exit() says: inline at irq exit (SOFTIRQ_OFFSET, the
// restart bounds of softirq_after_round()), to the vCPU's ksoftirqd (a fair
// task), or to the next local_bh_enable() of a BH-disabled holder; softirqs
// raised in an irq thread run at its local_bh_enable().
struct IrqSpec {
  std::string name;
  int vcpu = 0;
  int64_t period_ns = 0;  // > 0
  int64_t phase_ns = 0;   // first fire at start + phase_ns + period_ns
  // > 0: the first fire at this CLOCK_MONOTONIC instant instead (phase_ns is
  // ignored), so a device can share a grid with tasks timed from one base.
  int64_t first_ns = 0;
  // The hard part of every interrupt (entry, ack, waking the thread), spun in
  // the hardirq before the handler runs there or its thread is woken.
  int64_t entry_ns = 0;
  int64_t handler_ns = 0;
  int64_t softirq_ns = 0;
  IrqFlags flags = 0;  // kIrqfThreadFn, kIrqfNoThread, kIrqfOneshot, ... (policy.h)
  int thread_priority = kIrqThreadPriority;
  // Called once per handled interrupt after handler_ns of work, where the
  // handler runs (the hardirq on the interrupted task, or the IRQ thread).
  // In a hardirq it runs inside a signal handler: it must be async-signal-
  // safe and must not block or take locks a task may hold.
  void (*handler_fn)(void* arg) = nullptr;
  void* handler_arg = nullptr;
};

struct Config {
  Model model = Model::kFull;
  int hz = 250;  // the tick; 1..10000
  int vcpus = 1;
  // Allow vCPUs on CPU 0 and on every allowed CPU (none left to the system).
  bool allow_system_cpu = false;
  // The watchdog's budget: a current task that passes no preemption point and
  // takes no interrupt for this long ends the run.
  int64_t watchdog_budget_ns = 200'000'000;
  // run_for() overstaying its duration by this much also ends the run.
  int64_t watchdog_deadline_grace_ns = 2'000'000'000;
  // Host SCHED_FIFO for the task threads of emulated RT tasks (the host
  // class mirrors the emulated one); falls back to SCHED_OTHER for all with
  // a note when the process may not use it.
  bool use_fifo = true;
  // sched_rr_timeslice (RR_TIMESLICE, 100 ms), rounded to whole ticks (>= 1).
  int64_t rr_timeslice_ns = 100'000'000;
  // The fair class is EEVDF (fair.h, one FairRunQueue per vCPU). Its base
  // slice, sysctl_sched_base_slice: 0 = the kernel's default for `vcpus`
  // CPUs, 0.70 ms x (1 + ilog2(min(vcpus, 8))) (update_sysctl()); else the
  // value written, as to /sys/kernel/debug/sched/base_slice_ns. Requests
  // end at the tick (no HRTICK, as the kernel's default).
  int64_t base_slice_ns = 0;
  // Up to this many switched-out tasks per vCPU keep their POSIX timer armed
  // for the vCPU's next expiry instead of disarming it when they park, so a
  // task dispatched again before that expiry needs no timer system call
  // (saves two per switch in small task sets). The current task is always
  // armed, so delivery stays one-hop; the price is at most this many
  // spurious wakeups of switched-out threads per expiry. 0 = every parking
  // task disarms (strict). At most 16.
  int parked_armed_timers = 4;
  // Direct preemption (DESIGN.md, "Direct preemption"): a task sleeping on
  // its hrtimer (sleep_until, msleep, wait_next_period) waits on its gate
  // with a futex timeout at its expiry; when the timeout wakes its thread,
  // that thread carries out the switch the current task's irq exit would
  // make (same policy answers, same counts and trace), instead of the
  // current task taking the timer signal and switching to it: no signal
  // and one host context switch per such wakeup instead of two. Only when
  // the host already runs the wakee's thread strictly above the current
  // task's (host SCHED_FIFO) and the interrupt has nothing but a tick to do;
  // otherwise the signal path (the current task's timer), counted in
  // VcpuStats::direct_fallbacks. Off: every interrupt goes through the
  // current task's own handler.
  bool direct_wakeup = false;
  // The `threadirqs` boot parameter: force-threaded IRQs off RT as well.
  bool threadirqs = false;
  // Dispatches kept per vCPU in the trace (RunResult::vcpus[i].trace).
  int trace_capacity = 4096;
  // Time preempt-off and irq-off windows (VcpuStats::preemptoff_max_ns,
  // irqsoff_max_ns): an out-of-line call and a cycle-counter read at each
  // end of an outermost window (~10x the bare preempt_disable/enable pair,
  // see DESIGN.md). On by default in debug builds, as the kernel's tracers
  // are debug options; `preemptbench run` turns it on.
#ifdef NDEBUG
  bool track_windows = false;
#else
  bool track_windows = true;
#endif
  // lockdep-lite: lock classes (by lock name), the order in which they are
  // taken and the IRQ state they are taken in; reports an AB-BA inversion
  // ("possible circular locking dependency"), a class taken both with IRQs
  // off and on ("inconsistent lock state"), and locks held at the return to
  // user. On by default in debug builds.
#ifdef NDEBUG
  bool lockdep = false;
#else
  bool lockdep = true;
#endif
  // Print the kernel's BUG lines (sleeping in atomic, scheduling while
  // atomic) to stderr; they are counted either way.
  bool print_debug_reports = true;
};

// Why the task that left the CPU left it.
enum class SwitchCause : uint8_t {
  kStart,    // the vCPU's first dispatch
  kPreempt,  // involuntary, at `point`
  kBlock,    // voluntary: schedule() on block
  kExit,     // the previous task's body returned
  kIdle,     // the idle task found work
};

// Ids of the executive's own tasks in traces: the idle task, the vCPU's
// ksoftirqd, and the thread of IRQ i (kIrqThreadIdBase - i).
inline constexpr TaskId kIdleTaskId = -1;
inline constexpr TaskId kKsoftirqdTaskId = -2;
inline constexpr TaskId kIrqThreadIdBase = -100;

struct DispatchRecord {
  TaskId task = -1;  // the dispatched task (kernel tasks: negative ids above)
  TaskId prev = -1;  // the task switched out; -1 for idle (or none at kStart)
  SwitchCause cause = SwitchCause::kStart;
  Point point = Point::kSchedule;  // for kPreempt
  uint64_t tick = 0;               // the vCPU's tick count at the dispatch
};

// Why a wakee's thread left its due wakeup to the signal path
// (Config::direct_wakeup); VcpuStats::direct_fallbacks by this index.
enum class DirectFallback : uint8_t {
  kRqLockBusy,   // the vCPU's rq lock was held (by the current task, or a remote waker)
  kHostOrder,    // the host does not run the wakee strictly above the current
                 // task (a current RT task at or above the wakee's priority, a
                 // class change pending, demoted); checked before the model
  kCurrentBusy,  // the current task is not interruptible here: in its own
                 // handler, IRQs soft-off, or not yet on the CPU
  kIrqWork,      // the interrupt has more to do: softirqs or other interrupts
                 // pending, another hrtimer expired
  kModel,        // the model does not switch at this irq exit (a preempt-off
                 // section, NONE/VOLUNTARY in kernel mode)
  kNotPicked,    // another runnable task would be picked first
  kRace,         // the current task entered its handler meanwhile
};
inline constexpr size_t kNumDirectFallbacks = 7;
constexpr std::string_view to_string(DirectFallback r) noexcept {
  switch (r) {
    case DirectFallback::kRqLockBusy:
      return "rq_lock_busy";
    case DirectFallback::kHostOrder:
      return "host_order";
    case DirectFallback::kCurrentBusy:
      return "current_busy";
    case DirectFallback::kIrqWork:
      return "irq_work";
    case DirectFallback::kModel:
      return "model";
    case DirectFallback::kNotPicked:
      return "not_picked";
    case DirectFallback::kRace:
      return "race";
  }
  return "?";
}

struct VcpuStats {
  int host_cpu = -1;
  uint64_t dispatches = 0;                         // a task became current through a switch
  uint64_t ctx_voluntary = 0;                      // the previous task blocked or exited
  uint64_t ctx_involuntary = 0;                    // the previous task was preempted
  uint64_t idle_exits = 0;                         // the idle task switched to work
  std::array<uint64_t, kNumPoints> preemptions{};  // involuntary switches by Point
  // Every policy consultation: [Point][Reason] (Reason per policy.h order).
  std::array<std::array<uint64_t, kNumReasons>, kNumPoints> decisions{};
  // Interrupts.
  uint64_t irq_timer = 0;      // timer interrupts handled (tick and/or hrtimers)
  uint64_t irq_ipi = 0;        // reschedule IPIs handled as an interrupt (fewer than
                               // received when a dispatch superseded one in flight)
  uint64_t irq_spurious = 0;   // a signal with nothing left to do (raced, duplicate)
  uint64_t irq_masked = 0;     // arrived with IRQs soft-disabled: left pending
  uint64_t irq_replayed = 0;   // handled at local_irq_enable() / restore
  uint64_t irq_forwarded = 0;  // arrived on a task that was not on the CPU
  // Config::direct_wakeup: switches carried out by the wakee's own thread
  // (each also counted as the irq-exit preemption, or idle exit, it stands
  // for), and due wakeups left to the signal path, by DirectFallback.
  uint64_t direct_preemptions = 0;
  // Of those over the idle task, the ones that found its thread asleep in
  // its idle wait and claimed it without the doorbell signal (DESIGN.md,
  // "Direct preemption", "An idle task asleep").
  uint64_t direct_idle_claims = 0;
  std::array<uint64_t, kNumDirectFallbacks> direct_fallbacks{};
  // Deepest nesting of interrupt frames on one task's stack: 1 a hardirq, 2 a
  // hardirq nested in the softirqs of an outer irq exit; 3 only when a
  // signal lands in the first instructions of a replay at local_irq_enable()
  // before it masks IRQs. Never more (the kernel's bound: softirqs at irq
  // exit only when !in_interrupt()).
  uint64_t irq_nesting_max = 0;
  uint64_t timer_syscalls = 0;      // timer_settime calls by tasks of this vCPU
  uint64_t irq_device = 0;          // device handlers run in hardirq context
  uint64_t irq_thread_wakeups = 0;  // device hardirqs that only woke the IRQ's thread
  uint64_t softirq_raised = 0;
  uint64_t softirq_at_irq_exit = 0;   // inline runs at irq exit
  uint64_t softirq_at_bh_enable = 0;  // runs at local_bh_enable()
  uint64_t softirq_in_ksoftirqd = 0;  // runs by ksoftirqd
  uint64_t softirq_deferred = 0;      // left pending at irq exit (BH held / in interrupt)
  uint64_t softirq_rounds = 0;
  uint64_t softirq_bounded = 0;  // runs ended by the restart bounds, rest to ksoftirqd
  uint64_t ksoftirqd_wakeups = 0;
  int64_t softirq_ns = 0;     // softirq work done (ns of busy work)
  uint64_t ticks = 0;         // scheduler ticks run
  uint64_t ticks_missed = 0;  // tick periods that passed without their own tick
  uint64_t hrtimers_expired = 0;
  uint64_t lazy_promotions = 0;  // the tick turned LAZY into the full flag
  uint64_t rr_expiries = 0;      // an RR slice ran out with a peer waiting
  uint64_t fair_slice_expiries = 0;
  uint64_t ipis_sent = 0;       // by tasks of this vCPU
  uint64_t ipis_received = 0;   // IPI signals that reached a thread of this vCPU
  uint64_t ipis_coalesced = 0;  // not sent: one was already in flight
  uint64_t wakeups_local = 0;
  uint64_t wakeups_remote = 0;    // by tasks of this vCPU, of tasks elsewhere
  uint64_t lock_contentions = 0;  // lock fast paths that failed (spun or slept)
  uint64_t pi_boosts = 0;         // an rt_mutex waiter raised an owner's priority
  // Longest preempt-off window (the count's PREEMPT or SOFTIRQ field held
  // non-zero by task code) and irq-off window (the soft mask set through
  // TaskApi), with the file:line of the outermost disable. Interrupts taken
  // inside a window count in it, as in the kernel's tracers.
  int64_t preemptoff_max_ns = 0;
  std::string preemptoff_where;
  int64_t irqsoff_max_ns = 0;
  std::string irqsoff_where;
  uint64_t might_sleep_bugs = 0;
  uint64_t preempt_leaks = 0;         // return to user with a non-zero count (reset there)
  uint64_t lockdep_cycles = 0;        // lock-order inversions found (each class pair once)
  uint64_t lockdep_inconsistent = 0;  // classes taken with IRQs both off and on (once each)
  uint64_t lockdep_held_at_exit = 0;  // returns to user with a lock held
  uint64_t schedule_while_atomic_bugs = 0;
  uint64_t rcu_voluntary_switch_warnings = 0;  // schedule() inside an RCU read-side section
  // Time, by what the vCPU was doing (cycle counter, converted).
  int64_t user_ns = 0;
  int64_t kernel_ns = 0;
  int64_t irq_ns = 0;
  int64_t idle_ns = 0;
  // Host stalls seen by TaskApi::compute(): gaps of more than 20 µs between
  // its clock reads that neither a switch nor a signal handler explains (the
  // hypervisor's steal, the host kernel). Not counted as work, and taken out
  // of the model-induced delay of a wakeup whose window they fall in.
  int64_t host_stolen_ns = 0;
  // Time the vCPU ran an emulated RT-class task (FIFO, RR, IRQ threads, PI
  // boosts included; interrupts count for the task they interrupt): what a
  // real kernel's RT throttling would charge, and, with host SCHED_FIFO,
  // what the host's charges (the host class mirrors the emulated one).
  int64_t rt_busy_ns = 0;
  // Host stalls seen by the watchdog (it checks every 10 ms or so):
  // host_stall_ns is the time the vCPU's current thread waited runnable on
  // the host's runqueue (behind another thread, or throttled) in windows in
  // which its heartbeat stood still for a check or more.
  // host_stall_windows counts the windows past the watchdog's budget in which
  // the host ran the thread less than the budget (the watchdog's
  // kHostStalled); the longest (wall time not run) and when it began (ns
  // from the run's start).
  int64_t host_stall_ns = 0;
  uint64_t host_stall_windows = 0;  // windows past the budget that the host caused
  int64_t host_stall_max_ns = 0;
  int64_t host_stall_max_at_ns = 0;
  // Tick lateness: the tick's programmed expiry → entry of the handler on the
  // vCPU's current task (ticks taken directly, not replayed ones).
  std::shared_ptr<const LatencyHistogram> tick_lateness;
  // IPI delivery: the sender's tgkill → entry of the handler on this vCPU
  // (the interrupt part of a remote wakeup; the dispatch follows).
  std::shared_ptr<const LatencyHistogram> ipi_lateness;
  std::vector<DispatchRecord> trace;  // first trace_capacity dispatches
  uint64_t trace_dropped = 0;
};

struct TaskStats {
  TaskId id = -1;
  std::string name;
  int vcpu = 0;
  uint64_t dispatches = 0;
  uint64_t preempted = 0;      // times switched out involuntarily
  uint64_t blocked = 0;        // times switched out by blocking
  uint64_t periods = 0;        // wait_next_period() releases
  uint64_t overruns = 0;       // releases already past when waited for
  uint64_t stale_signals = 0;  // interrupts that hit it while switched out
  int64_t runtime_ns = 0;      // current on its vCPU (dispatch to switch-out, wall clock)
  int64_t wait_ns = 0;         // runnable (woken or preempted) until dispatched
  std::array<uint64_t, kNumPoints> preempted_at{};  // involuntary switch-outs by point
  // Wakeup latency (wait_next_period()) and model-induced delay (this task's
  // wakeup asking for a reschedule → the preemption that dispatched it; a
  // flag already pending from another wakeup does not count); null unless
  // TaskSpec::histograms or period_ns.
  std::shared_ptr<const LatencyHistogram> wakeup_latency;
  std::shared_ptr<const LatencyHistogram> model_delay;
};

// A device's interrupts (IrqLineStats, irq_line.h).
struct IrqStats {
  std::string name;
  int vcpu = 0;
  bool threaded = false;   // the handler ran in the IRQ's thread
  uint64_t fired = 0;      // the device asserted its line (late periods included)
  uint64_t delivered = 0;  // hardirqs taken
  uint64_t coalesced = 0;  // firings merged into another (masked line, late periods)
  uint64_t handled = 0;    // handler runs (hardirq, or the thread once per wakeup)
  int64_t worst_fire_to_handled_ns = 0;
};

struct RunResult {
  Model model = Model::kFull;
  int hz = 0;
  // The run used host SCHED_FIFO: each task thread's host class mirrored its
  // emulated class (RT tasks and IRQ threads at SCHED_FIFO, fair tasks,
  // ksoftirqd and idle at SCHED_OTHER nice -20).
  bool host_fifo = false;
  uint64_t host_class_changes = 0;  // host policy changes after setup (PI boosts)
  int system_cpu = -1;              // where the watchdog ran
  std::vector<VcpuStats> vcpus;
  std::vector<TaskStats> tasks;
  std::vector<TaskStats> kernel_tasks;  // ksoftirqd and IRQ threads (negative ids)
  std::vector<IrqStats> irqs;
  bool watchdog_tripped = false;
  std::string watchdog_message;
  std::vector<std::string> notes;  // fallbacks taken ("SCHED_FIFO unavailable: ...")
  int64_t duration_ns = 0;
};

// The watchdog's judgement of a vCPU whose heartbeat (preemption points
// and interrupts) has not moved: a pure function of what it measured, so
// that tests hold every case. `wall_ns`: since the heartbeat last moved;
// `ran_ns`: the host CPU time the vCPU's current thread got in that window
// (its /proc/self/task/TID/schedstat), -1 when the host does not say;
// `waited_ns`: the time it was runnable on a host runqueue but not running,
// -1 when unknown. The task is blamed only for time the host gave it:
//   kQuiet        wall_ns < budget
//   kTaskOverran  the thread ran >= budget without a point (or the run time
//                 is unknown: the watchdog then judges by the wall clock)
//   kHostStalled  the window is past the budget but the host ran the thread
//                 less than the budget: another real-time thread, RT
//                 throttling, the hypervisor's steal
enum class StuckVerdict : uint8_t { kQuiet, kTaskOverran, kHostStalled };
struct StuckWindow {
  int64_t wall_ns = 0;
  int64_t ran_ns = -1;
  int64_t waited_ns = -1;
};
StuckVerdict classify_stuck(const StuckWindow& w, int64_t budget_ns) noexcept;
// The watchdog's message for a verdict (into buf, always terminated), e.g.
//   "watchdog: task kp-0 on vCPU 0 ran 230 ms without a preemption point
//    (budget 200 ms)"
//   "watchdog: the host did not run vCPU 0 for 180 ms of 230 ms (task kp-0
//    runnable, waiting 175 ms: another real-time thread, RT throttling or the
//    hypervisor); not the task's doing"
void format_stuck(char* buf, size_t size, StuckVerdict v, const StuckWindow& w, const char* task,
                  size_t vcpu, int64_t budget_ns) noexcept;

// Host CPUs for the vCPUs: a pure function of what the process may use, so
// it can be tested. `allowed`: the affinity mask's CPUs; `core_of[i]`: a core
// id per allowed CPU (same order), or empty for one core per CPU;
// `isolated`: isolcpus. Order of preference: isolated CPUs first, then one
// PU per core, then the rest, each from the highest CPU number down. Without
// allow_system_cpu, CPU 0 is never used and at least one allowed CPU is left
// to the system.
struct CpuPlan {
  std::vector<int> vcpu_cpus;  // host CPU of vCPU i
  int system_cpu = -1;         // for the watchdog: an allowed CPU not used, else the lowest
  std::string error;           // non-empty when the request cannot be met
};
CpuPlan plan_cpus(const std::vector<int>& allowed, const std::vector<int>& core_of,
                  const std::vector<int>& isolated, int vcpus, bool allow_system_cpu);
// plan_cpus() for this process and machine, as Executive::start() plans them
// (so that a caller can claim those CPUs before it starts an executive).
CpuPlan plan_host_cpus(int vcpus, bool allow_system_cpu);

class Executive {
 public:
  explicit Executive(Config config);
  ~Executive();  // stops the run if still going; joins every thread
  Executive(const Executive&) = delete;
  Executive& operator=(const Executive&) = delete;

  // Before start(). Returns the task's id (0, 1, ... in order) or -EINVAL
  // with error() set.
  TaskId add_task(TaskSpec spec);
  // Before start(). Returns the IRQ's index (0, 1, ...) or -EINVAL.
  int add_irq(IrqSpec spec);

  // Creates every thread, timer and runqueue, then dispatches the first task
  // of each vCPU. 0, or -errno with error() set (nothing is left running).
  // On success the calling thread is pinned to the system CPU until stop(),
  // which restores its affinity.
  int start();
  // Blocks until `ns` passed or a stop was requested (a task's
  // request_stop(), the watchdog), then stop(). REQUIRES: start() returned 0.
  void run_for(int64_t ns);
  // Asks a running executive to end its run, as a task's request_stop()
  // does: run_for() returns soon after. Callable from any thread, and from a
  // signal handler (an atomic store and a futex wake). A no-op before start().
  void request_stop() noexcept;
  // Ends the run: every thread is demoted to SCHED_OTHER, released and
  // joined; results are collected. Idempotent.
  void stop();

  const std::string& error() const noexcept;
  // Valid after stop().
  const RunResult& result() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace pb::exec
