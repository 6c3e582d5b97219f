// One cell of a sweep (one model x workload x load x round) on either clock.
// plan_cell() turns a description into what both clocks run: the task
// instances with their folded vCPUs, seeds and load pacing, the devices with
// their scaled rates, the compiled kernel paths and the notes. run_cell()
// runs the plan on the executive in real time; simulate_cell() runs it on
// the simulator in virtual time; both assemble the same CellResult
// (assemble_cell()), marked "real" or "simulated".
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pb/executive/policy.h"
#include "pb/histogram.h"
#include "pb/sim/engine.h"
#include "pb/workloads/program.h"
#include "pb/workloads/result.h"
#include "pb/workloads/workload.h"

namespace pb::wl {

// Load levels a cell accepts: [kMinLoad, kMaxLoad]. Below 1 % the paced
// background tasks and the load-scaled devices (rate x load) would do almost
// nothing in a cell of a few seconds, and a load near 0 overflows the pacing
// cycle (busy x n / load) into "no pacing at all": a tiny load must not run
// as full load.
inline constexpr double kMinLoad = 0.01;
inline constexpr double kMaxLoad = 1.0;

struct RunOptions {
  int64_t duration_ns = 2'000'000'000;
  int vcpus = 1;  // emulated CPUs (host CPUs; one is always left to the system)
  int hz = 250;
  uint64_t seed = 1;
  int round = 0;
  // The fair class's base slice (sysctl_sched_base_slice); 0: the kernel's
  // default for `vcpus`, 0.70 ms x (1 + ilog2(min(vcpus, 8))).
  int64_t base_slice_ns = 0;
  bool use_fifo = true;        // host SCHED_FIFO when permitted
  bool direct_wakeup = false;  // exec::Config::direct_wakeup (the real clock only)
  // 1: lockdep-lite on, and BUG reports printed in the kernel's words
  // (stderr, the first 16); 0: lockdep off, BUGs only counted
  // (CellResult::counters); -1: lockdep as the build's default
  // (exec::Config), BUGs only counted.
  int debug_aids = -1;
  // Polled during the run: set (e.g. by a SIGINT handler) to end the cell
  // early; the result is then what was measured so far.
  const std::atomic<bool>* interrupt = nullptr;
  // Long cells (segment_length_ns() < duration_ns) run in segments: after
  // each but the last, called with the cell so far (figures merged, marked
  // partial, its segments listed), e.g. to print progress and write a
  // checkpoint. Runs on the caller's thread between two executive runs.
  std::function<void(const CellResult& so_far)> on_segment;
  // The segment length; 0: segment_length_ns(duration_ns).
  int64_t segment_ns = 0;
};

// A cell longer than kSegmentThresholdNs runs as consecutive executive runs
// ("segments") of segment_length_ns(): at least kMinSegmentNs each, and at
// most kMaxCellSegments of them, so that a long run shows progress, can write
// partial results and keeps its memory bounded (each run's traces and
// histograms are merged and freed). The histograms of the segments are
// merged; the few tens of ms between two segments are not measured.
inline constexpr int64_t kSegmentThresholdNs = 15'000'000'000;
inline constexpr int64_t kMinSegmentNs = 10'000'000'000;
inline constexpr size_t kMaxCellSegments = 360;
// The length of one segment for a cell of `duration_ns`: duration_ns itself
// up to kSegmentThresholdNs, else max(kMinSegmentNs, duration / kMaxCellSegments
// rounded up to whole seconds). Pure.
int64_t segment_length_ns(int64_t duration_ns);

// --- the plan ------------------------------------------------------------------------

// One task instance, as both clocks create it.
struct PlannedTask {
  const TaskDesc* desc = nullptr;  // its entry of Workload::tasks
  size_t entry = 0;                // that entry's index (its program in CellPlan::programs)
  std::string name;                // instance_name()
  int vcpu = 0;                    // folded onto the run's vCPUs
  int64_t busy_ns = 0;             // nominal busy work of one iteration (nominal_busy_us())
  // Load below 1 paces a continuous background task (README: "Load"): the n
  // such tasks of a vCPU together offer `load` of it, each starting an
  // iteration every busy x n / load on average. The executive keeps that
  // start-to-start cycle on an absolute schedule; the simulator waits a think
  // time of busy x (n / load - 1) after each iteration. Both 0 when the task
  // is not paced (load 1, periodic, measuring, or no busy work).
  int64_t cycle_mean_ns = 0;
  int64_t think_mean_ns = 0;
  uint64_t seed = 0;  // of its pacing jitter: task_seed(run seed, instance index)
  // The description's times in ns.
  int64_t period_ns = 0;
  int64_t phase_ns = 0;
  int64_t deadline_ns = 0;
  int64_t user_ns = 0;
};

// One device, as both clocks create it.
struct PlannedIrq {
  std::string name;
  int vcpu = 0;            // folded
  int64_t period_ns = 0;   // load scales the rate: 1 s / (rate_hz x load), at least 1 us
  int64_t handler_ns = 0;  // the description's times in ns
  int64_t softirq_ns = 0;
  exec::IrqFlags flags = 0;  // from IrqDesc::threading
  int thread_priority = exec::kIrqThreadPriority;
};

struct CellPlan {
  std::string error;  // non-empty: the cell cannot run (load, duration or vCPUs out of range)
  std::vector<detail::Program> programs;  // per entry of Workload::tasks
  std::vector<PlannedTask> tasks;         // instances, in description order
  std::vector<PlannedIrq> irqs;
  bool has_io = false;       // an instance runs io segments
  int64_t max_io_bytes = 0;  // the largest of them
  std::string folded_note;   // "vCPU indices folded onto ...", or ""
};

// Plans `w` at `load` for a run of `vcpus` vCPUs seeded with `seed`; checks
// load, duration and vCPU count first (CellPlan::error). Pure. The plan
// points into `w`, which must outlive it.
CellPlan plan_cell(const Workload& w, double load, int vcpus, uint64_t seed, int64_t duration_ns);

// --- the result ----------------------------------------------------------------------

// What one task instance did, in plan order, as a clock reports it.
struct InstanceFigures {
  uint64_t iterations = 0;
  int64_t work_ns = 0;  // busy work completed
  uint64_t sends = 0;
  uint64_t recvs = 0;
  uint64_t deadline_misses = 0;
  uint64_t periods = 0;
  uint64_t overruns = 0;
  const LatencyHistogram* latency = nullptr;  // measuring tasks (null: none recorded)
  const LatencyHistogram* model_delay = nullptr;
  // The scheduler's view (TaskRecord).
  int64_t runtime_ns = 0;
  int64_t wait_ns = 0;
  uint64_t dispatches = 0;
  std::array<uint64_t, exec::kNumPoints> preemptions{};
};

struct LockFigures {
  std::string name;
  uint64_t acquisitions = 0;
  uint64_t contentions = 0;
  uint64_t pi_boosts = 0;
  int64_t max_wait_ns = 0;
};

// A device's interrupts (exec::IrqLineStats, both clocks).
struct IrqFigures {
  std::string name;
  uint64_t fired = 0;
  uint64_t handled = 0;
  uint64_t coalesced = 0;
  uint64_t delivered = 0;
  int64_t worst_fire_to_handled_ns = 0;
  bool threaded = false;
};

// Per-vCPU figures summed over the vCPUs (add_vcpu_figures()).
struct VcpuFigures {
  std::map<std::string, uint64_t> counters;  // by the field names of exec::VcpuStats
  uint64_t ctx_voluntary = 0;
  uint64_t ctx_involuntary = 0;
  std::array<uint64_t, exec::kNumPoints> preemptions{};
  Windows windows;
  std::vector<int64_t> irq_ns;  // per vCPU, in vCPU order: time in interrupts
};

// Per-vCPU figures come from either clock's per-vCPU type through one list
// of counters (add_vcpu_figures(), workloads/src/cell_internal.h).

struct CellFigures {
  int64_t duration_ns = 0;
  std::vector<InstanceFigures> tasks;  // as CellPlan::tasks
  VcpuFigures vcpus;
  std::vector<LockFigures> locks;
  std::vector<IrqFigures> irqs;
  std::map<std::string, uint64_t> extra_counters;  // a clock's own (io_completed, ...)
};

// What a cell is, as asked for (model, workload, load, round, clock): set
// before anything can fail. failed_cell(): the same with `error` set.
CellResult cell_identity(const Workload& w, exec::Model model, double load, int round,
                         const char* clock);
CellResult failed_cell(CellResult res, std::string why);

// Fills `res` (measured tasks with the headline first, counters, throughput,
// windows, duration) from what a clock measured, the same way for both
// clocks. Notes, host_fifo and the watchdog are the clock's.
void assemble_cell(const CellPlan& plan, int vcpus, const CellFigures& f, CellResult& res);

// --- the two clocks ------------------------------------------------------------------

// Runs `w` at `load` under `model` on the executive, in real time. Never
// throws for run-time problems: CellResult::error says why a cell could not
// run (no usable CPU, ...); elements the host cannot provide (io_uring) are
// skipped with a note.
CellResult run_cell(const Workload& w, exec::Model model, double load, const RunOptions& opt);

// Runs `w` at `load` under `model` in virtual time (pb::sim), the same plan
// interpreted step for step as run_cell() runs it. Never throws for run-time
// problems (CellResult::error); io segments are skipped with a note (no
// device model). Deterministic for SimOptions::seed.
CellResult simulate_cell(const Workload& w, exec::Model model, double load,
                         const sim::SimOptions& opt);

// SimOptions with the run-control fields of `ro` (duration, vCPUs, HZ, seed,
// round, interrupt) and the default costs: what `preemptbench run --clock
// simulated` passes.
sim::SimOptions sim_options_from(const RunOptions& ro);

// How long a sweep rests between two real cells so that no period of the
// host's RT throttling (kernel.sched_rt_period_us) holds more SCHED_FIFO time
// than its runtime (sched_rt_runtime_us), when each cell is shorter than the
// runtime: the period's unthrottled remainder plus 50 ms; 0 when the host does
// not throttle. Without it, back-to-back cells at load 1 stall ~50 ms a second.
int64_t rt_throttle_rest_ns();

}  // namespace pb::wl
