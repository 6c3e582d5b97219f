// The simulated clock: a discrete-event simulation of the executive's
// emulated kernel in virtual time. Busy work advances virtual time;
// interrupts and timers fire at virtual instants; context switches and
// interrupt entry cost configurable virtual time. Every "switch now or
// defer", every reschedule request and every lock, interrupt and softirq
// rule is asked of the executive's pure policy module (pb/executive/policy.h)
// at the same points the real executive asks it (executive/src/sched.cc,
// irq.cc, locks.cc): the simulator is a second mechanism, never a second copy
// of the rules.
//
// A run is a System (tasks whose bodies are programs of Step, locks,
// channels, devices, shared variables) simulated under one Model with
// SimOptions; simulate() returns a SimResult of counters, histograms and the
// kernel's debug reports. Deterministic: the same System, Model and
// SimOptions (seed included) give the same SimResult, bit for bit.
// DESIGN.md, "Simulated time", explains what is modelled and what is not.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pb/executive/policy.h"
#include "pb/executive/preempt_count.h"
#include "pb/histogram.h"

namespace pb::sim {

using exec::Model;

inline constexpr int64_t kNsPerUs = 1000;

// Costs and run control. The cost defaults approximate the executive on the
// development VM (results/vm/README.md, pb-micro medians) so that a simulated
// cell and a real one are comparable; scenarios set them to 0 (or to their own
// parameters) so that their analysis is exact.
struct SimOptions {
  int64_t duration_ns = 2'000'000'000;  // virtual time simulated
  int vcpus = 1;                        // 1..64
  int hz = 250;                         // the tick
  uint64_t seed = 1;                    // think-time jitter (the only randomness)
  int round = 0;
  // A context switch: busy time with IRQs off between the decision and the
  // next task's first instruction. dispatch_same_vcpu/4 on results/vm: 2.5 us.
  int64_t ctx_switch_ns = 2'500;
  // Entry and exit of one interrupt (tick, hrtimer, IPI, device): busy time at
  // hardirq level on the interrupted vCPU before the handler's own work. An
  // estimate of a signal delivered to a running thread on results/vm (pb-micro
  // measures expiry-to-handler latency, 7.5 us p50, which is mostly the
  // host's timer path, not time taken from the interrupted task).
  int64_t irq_entry_ns = 1'000;
  // A reschedule IPI from sending to arrival on the target vCPU:
  // tgkill_cross_cpu p50 on results/vm, 20 us.
  int64_t ipi_ns = 20'000;
  // The scheduler tick's own work, on top of irq_entry_ns.
  int64_t tick_ns = 0;
  // As exec::Config.
  int64_t rr_timeslice_ns = 100'000'000;
  // sysctl_sched_base_slice, the fair class's request (fair.h); 0: the
  // kernel's default for `vcpus` (exec::default_base_slice_ns()).
  int64_t base_slice_ns = 0;
  bool threadirqs = false;
  // A deliberate mutation, for the nested-locks scenario only: at
  // preempt_enable() and at the return from an interrupt to kernel code, switch
  // when the kernel's preempt_count is 1 as if it were 0 (the rule "preempt at
  // count <= 1"). policy.h is not touched: decide() is asked as always and its
  // "count_nonzero" answer is overridden here.
  bool broken_preempt_at_count_one = false;
  // Dispatches kept in SimResult::trace.
  int trace_capacity = 4096;
  // Polled every few thousand events; set to end the run early.
  const std::atomic<bool>* interrupt = nullptr;
};

// --- the system simulated -----------------------------------------------------------

// One step of a task's body, as the TaskApi call it stands for. Zero-time
// steps run back to back; busy steps (kCompute, spinning, an IRQ thread's
// handler) advance virtual time.
enum class StepOp : uint8_t {
  kCompute,       // ns of busy work in the task's mode; a cond_resched() every cond_resched_ns
                  // and a might_sleep() every might_sleep_ns of it (0: none), none at the ends
  kKernelEnter,   // kernel_enter(): the start of a system call
  kKernelExit,    // kernel_exit(): the return to user, a point in every model
  kCondResched,   // cond_resched()
  kMightSleep,    // might_sleep(): the debug check, then might_resched()
  kMightResched,  // might_resched()
  kLock,          // index: the lock; flag: the _irqsave variant (spinning types)
  kUnlock,        // index: the lock (as it was taken)
  kPreemptOff,    // preempt_disable()
  kPreemptOn,     // preempt_enable()
  kGetCpu,        // get_cpu(): preempt_disable() (a per-CPU variable's slot is this vCPU's)
  kPutCpu,        // put_cpu(): preempt_enable()
  kIrqSave,       // local_irq_save()
  kIrqRestore,    // local_irq_restore() of the matching save
  kBhOff,         // local_bh_disable()
  kBhOn,          // local_bh_enable(): pending softirqs, then the preempt_enable() point
  kSleep,         // sleep_ns(ns): a system call from user mode, an hrtimer wakes the task
  kThink,         // a sleep of ns x uniform[0.5, 1.5) (seeded): load's think time
  kSend,          // complete() `count` times on channel `index`
  kRecv,          // wait_for_completion() on channel `index`
  kLoad,          // the task's register = variable `index` (this vCPU's slot if per-CPU)
  kStore,         // variable `index` = register + 1: a non-atomic read-modify-write
  kWaitPeriod,    // wait_next_period(): the top of a periodic task's body
  kIterEnd,       // an iteration's work is done: counted, its response time recorded
  kMark,          // records the current instant in TaskResult::marks_ns
  // The executive's own tasks (not for SimTask bodies).
  kIrqThreadWait,  // an IRQ thread waits for its device (index)
  kIrqHandler,     // the device's handler work in its thread
  kKsoftirqdWait,  // ksoftirqd waits to be woken
  kRunSoftirqs,    // ksoftirqd runs the pending softirqs
};

struct Step {
  StepOp op = StepOp::kCompute;
  bool flag = false;            // kLock/kUnlock: irqsave
  int32_t index = -1;           // kLock/kUnlock: lock; kSend/kRecv: channel; kLoad/kStore: variable
  int32_t count = 1;            // kSend
  int64_t ns = 0;               // kCompute, kSleep, kThink
  int64_t cond_resched_ns = 0;  // kCompute
  int64_t might_sleep_ns = 0;   // kCompute
  // Names the operation a preempt-off / IRQ-off window opened by this step
  // reports (SimResult windows); defaults to the TaskApi call's name.
  const char* where = nullptr;
};

// Builders, so that programs read like the TaskApi code they stand for.
namespace ops {
Step compute(int64_t ns, int64_t cond_resched_ns = 0, int64_t might_sleep_ns = 0);
Step simple(StepOp op);
Step lock(int index, bool irqsave = false);
Step unlock(int index, bool irqsave = false);
Step sleep(int64_t ns);
Step think(int64_t mean_ns);
Step send(int channel, int count = 1);
Step recv(int channel);
Step load(int var);
Step store(int var);
}  // namespace ops

struct SimTask {
  std::string name;
  exec::Policy policy = exec::Policy::kFair;
  int priority = 0;  // 1..99 for kFifo/kRr
  int nice = 0;      // kFair: -20..19, the weight of sched_prio_to_weight[]
  int vcpu = 0;
  // The body, run again and again. A periodic task's body begins with
  // kWaitPeriod; the task starts blocked in it, its first release armed.
  std::vector<Step> body;
  int64_t period_ns = 0;
  // Periodic: the first release, absolute; < 0: phase_ns + period_ns (the
  // executive's rule, releases at start + phase + k x period, k >= 1).
  int64_t first_release_ns = -1;
  int64_t phase_ns = 0;
  int64_t deadline_ns = 0;  // periodic: relative deadline; 0 = the period
  // Same-instant order: the release timer fires after every other event of
  // its instant (and after the tasks those events woke ran their zero-time
  // steps). Scenarios use it to release a task "just after" another entered
  // a section, the critical instant of a blocking analysis.
  bool late_release = false;
  // Not periodic: runnable from this instant (a timer wakes it, after the
  // tasks runnable at once ran their zero-time steps); < 0: at once.
  int64_t start_ns = -1;
  // Exits after this many iterations (kIterEnd); 0: runs until the end.
  int64_t iterations = 0;
  // Measuring: latency (release -> back in the task), model-delay and
  // response-time histograms.
  bool measure = false;
  // Response times of the first N jobs kept in TaskResult::responses_ns.
  int keep_responses = 0;
};

struct LockSpec {
  std::string name;
  exec::LockType type = exec::LockType::kSpinlock;
};

// A device interrupt: fires every period_ns on its vCPU. Its hardirq costs
// entry_ns (SimOptions::irq_entry_ns when < 0) plus, when not threaded
// (exec::irq_threaded()), handler_ns; threaded, its IRQ thread (SCHED_FIFO
// thread_priority) runs handler_ns. Each handling raises softirq_ns of
// softirq work and, with var >= 0, increments that variable (atomically, at
// the end of the handler).
struct DeviceSpec {
  std::string name;
  int vcpu = 0;
  int64_t period_ns = 0;
  int64_t first_ns = -1;  // the first firing, absolute; < 0: phase_ns + period_ns
  int64_t phase_ns = 0;
  int64_t handler_ns = 0;
  int64_t softirq_ns = 0;
  int64_t entry_ns = -1;
  exec::IrqFlags flags = 0;
  int thread_priority = exec::kIrqThreadPriority;
  int var = -1;
};

// A shared variable for kLoad/kStore (and device handlers): one slot, or one
// per vCPU. Lost updates = stores - final value, summed over slots.
struct VarSpec {
  std::string name;
  bool per_cpu = false;
};

struct System {
  std::vector<SimTask> tasks;
  std::vector<LockSpec> locks;
  std::vector<std::string> channels;
  std::vector<DeviceSpec> devices;
  std::vector<VarSpec> vars;
  // End the run once every task with `iterations` > 0 has exited (and at
  // SimOptions::duration_ns at the latest).
  bool stop_when_done = false;
};

// --- what a run produced ---------------------------------------------------------------

// One of the kernel's debug reports (BUG lines), as the executive prints them
// (pids are task indices).
struct BugReport {
  int64_t at_ns = 0;
  int vcpu = 0;
  std::string task;
  std::string title;  // "BUG: scheduling while atomic", ...
  std::string text;   // the full report
};

struct TaskResult {
  std::string name;
  int vcpu = 0;
  bool kernel_task = false;  // ksoftirqd, IRQ threads
  uint64_t dispatches = 0;
  uint64_t preempted = 0;
  uint64_t blocked = 0;
  uint64_t iterations = 0;
  uint64_t periods = 0;
  uint64_t overruns = 0;  // releases already past when waited for
  uint64_t deadline_misses = 0;
  uint64_t sends = 0;
  uint64_t recvs = 0;
  int64_t work_ns = 0;     // busy work of kCompute steps completed
  int64_t runtime_ns = 0;  // current on its vCPU (outside interrupt frames)
  int64_t wait_ns = 0;     // runnable, waiting for its vCPU
  std::array<uint64_t, exec::kNumPoints> preempted_at{};  // switched away involuntarily, by point
  int64_t worst_response_ns = 0;
  std::vector<int64_t> responses_ns;  // the first keep_responses jobs
  std::vector<int64_t> marks_ns;      // kMark instants (the first 1024)
  // latency: periodic tasks; model_delay, response: measure only (else null).
  std::shared_ptr<LatencyHistogram> latency;
  std::shared_ptr<LatencyHistogram> model_delay;
  std::shared_ptr<LatencyHistogram> response;
};

using exec::kNumPoints;
using exec::kNumReasons;

// Per vCPU, named as exec::VcpuStats.
struct VcpuResult {
  uint64_t dispatches = 0;
  uint64_t ctx_voluntary = 0;
  uint64_t ctx_involuntary = 0;
  uint64_t idle_exits = 0;
  std::array<uint64_t, kNumPoints> preemptions{};
  std::array<std::array<uint64_t, kNumReasons>, kNumPoints> decisions{};
  uint64_t irq_timer = 0;
  uint64_t irq_ipi = 0;
  uint64_t irq_spurious = 0;
  uint64_t irq_masked = 0;
  uint64_t irq_replayed = 0;
  uint64_t irq_device = 0;
  uint64_t irq_thread_wakeups = 0;
  uint64_t softirq_raised = 0;
  uint64_t softirq_at_irq_exit = 0;
  uint64_t softirq_at_bh_enable = 0;
  uint64_t softirq_in_ksoftirqd = 0;
  uint64_t softirq_deferred = 0;
  uint64_t softirq_rounds = 0;
  uint64_t softirq_bounded = 0;  // runs ended by the restart bounds, rest to ksoftirqd
  uint64_t ksoftirqd_wakeups = 0;
  int64_t softirq_ns = 0;
  uint64_t ticks = 0;
  uint64_t ticks_missed = 0;
  uint64_t hrtimers_expired = 0;
  uint64_t lazy_promotions = 0;
  uint64_t rr_expiries = 0;
  uint64_t fair_slice_expiries = 0;
  uint64_t ipis_sent = 0;
  uint64_t ipis_received = 0;
  uint64_t ipis_coalesced = 0;
  uint64_t wakeups_local = 0;
  uint64_t wakeups_remote = 0;
  uint64_t lock_contentions = 0;
  uint64_t pi_boosts = 0;
  uint64_t might_sleep_bugs = 0;
  uint64_t schedule_while_atomic_bugs = 0;
  uint64_t rcu_voluntary_switch_warnings = 0;  // schedule() inside an RCU read-side section
  uint64_t preempt_leaks = 0;
  uint64_t atomicity_breaks = 0;  // a spinning lock entered while its holder is switched out
  int64_t preemptoff_max_ns = 0;
  std::string preemptoff_where;
  int64_t irqsoff_max_ns = 0;
  std::string irqsoff_where;
  int64_t user_ns = 0;
  int64_t kernel_ns = 0;
  int64_t irq_ns = 0;
  int64_t idle_ns = 0;
};

struct LockResult {
  std::string name;
  uint64_t acquisitions = 0;
  uint64_t contentions = 0;
  uint64_t pi_boosts = 0;
  int64_t max_wait_ns = 0;
};

// A device's interrupts (exec::IrqLineStats): firings, hardirqs taken,
// firings merged into another (a ONESHOT line masked while its thread is
// pending or running, or a hardirq already pending at the CPU), handler runs,
// and the worst time from a firing to the end of the run that served it.
struct DeviceResult {
  std::string name;
  bool threaded = false;
  uint64_t fired = 0;
  uint64_t delivered = 0;
  uint64_t coalesced = 0;
  uint64_t handled = 0;
  int64_t worst_fire_to_handled_ns = 0;
  bool pending = false;  // an interrupt or a thread run still outstanding at the end
};

struct VarResult {
  std::string name;
  uint64_t stores = 0;
  int64_t value = 0;  // summed over slots
  uint64_t lost = 0;  // stores (and handler increments) that did not survive
};

enum class SwitchCause : uint8_t { kStart, kPreempt, kBlock, kExit, kIdle };

struct TraceRecord {
  int64_t at_ns = 0;
  int vcpu = 0;
  int task = -1;  // index into SimResult::tasks; -1 = idle
  int prev = -1;
  SwitchCause cause = SwitchCause::kStart;
  exec::Point point = exec::Point::kSchedule;
};

struct SimResult {
  int64_t end_ns = 0;   // virtual time reached
  uint64_t events = 0;  // events processed
  bool interrupted = false;
  std::vector<TaskResult> tasks;  // SimTask order, then ksoftirqd and IRQ threads
  std::vector<VcpuResult> vcpus;
  std::vector<LockResult> locks;
  std::vector<DeviceResult> devices;
  std::vector<VarResult> vars;
  std::vector<BugReport> reports;
  std::vector<TraceRecord> trace;
  std::vector<std::string> notes;
};

// Simulates `sys` under `model`. Throws std::invalid_argument for a system
// that cannot run (a lock, channel, variable or device index out of range, a
// vCPU outside SimOptions::vcpus, a non-positive period).
SimResult simulate(const System& sys, Model model, const SimOptions& opt);

}  // namespace pb::sim
