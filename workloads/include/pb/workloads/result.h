// What one cell of a sweep (one model x one workload x one load level x one
// round) measured: value types, no behaviour beyond summaries. Produced by
// run_cell() and simulate_cell() (cell.h); serialized as the cells of a
// "preemptbench.run/1" document (report/include/pb/report/run_document.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pb/histogram.h"

namespace pb::wl {

// The percentiles every report prints, from one histogram (ns).
struct LatencySummary {
  int64_t min = 0;
  int64_t p50 = 0;
  int64_t p90 = 0;
  int64_t p99 = 0;
  int64_t p999 = 0;
  int64_t max = 0;
  uint64_t count = 0;
  uint64_t missed = 0;  // periods whose release had already passed (overruns)

  static LatencySummary of(const LatencyHistogram& h, uint64_t missed);
};

// A measuring task: a periodic task whose wakeup latency is the result.
struct MeasuredTask {
  std::string name;
  std::string sched;  // "fifo:90", "rr:10" or "fair"
  int vcpu = 0;
  int64_t period_ns = 0;
  uint64_t periods = 0;
  LatencySummary latency;  // release -> back in the task
  LatencySummary
      model_delay;  // its wakeup's reschedule request -> the preemption that dispatched it
  LatencyHistogram latency_hist;
  LatencyHistogram model_delay_hist;
};

// One task instance of the cell, as both clocks count it: who it is, what it
// did and how the scheduler treated it (fairness and starvation show here).
struct TaskRecord {
  std::string name;
  std::string sched_class;  // "fifo", "rr" or "fair"
  int priority = 0;         // fifo/rr: 1..99; fair: 0
  int nice = 0;             // fair: -20..19; fifo/rr: 0
  int vcpu = 0;
  uint64_t ops = 0;        // iterations completed
  int64_t runtime_ns = 0;  // on the CPU (switches included, interrupt time excluded)
  int64_t wait_ns = 0;     // runnable, waiting for the CPU
  uint64_t dispatches = 0;
  std::map<std::string, uint64_t> preemptions;  // switched away involuntarily, by point name
  bool periodic = false;
  LatencySummary latency;  // periodic: release -> back in the task (else empty)
  uint64_t deadline_misses = 0;
};

struct Throughput {
  uint64_t ops = 0;  // background operations completed (kernel paths, messages, I/Os)
  double ops_per_s = 0;
  double work_fraction = 0;  // useful background compute / (vCPUs x duration)
  double ctx_switches_per_s = 0;
  double preemptions_per_s = 0;                              // all involuntary switches
  std::map<std::string, double> preemptions_by_point_per_s;  // key: policy point name
};

struct Windows {
  int64_t preemptoff_max_ns = 0;
  std::string preemptoff_where;  // "file:line" of the outermost disable, or ""
  int64_t irqsoff_max_ns = 0;
  std::string irqsoff_where;
};

// One segment of a long cell (run_cell() runs a cell longer than
// kSegmentThresholdNs as consecutive executive runs, cell.h): where the time
// went, so that a stall can be located in a long run.
struct SegmentFigures {
  int64_t start_ns = 0;        // from the cell's start (wall)
  int64_t duration_ns = 0;     // measured
  int64_t host_stolen_ns = 0;  // gaps inside compute() (all vCPUs)
  int64_t host_stall_ns = 0;   // runnable, not run by the host (the watchdog's count, all vCPUs)
  int64_t rt_busy_max_ns = 0;  // emulated RT-class busy time of the busiest vCPU
  uint64_t samples = 0;        // the headline task's wakeups
  uint64_t missed = 0;         // and its missed periods
  int64_t max_ns = 0;          // and its worst latency in the segment
};

struct CellResult {
  std::string model;     // "none", "voluntary", "full", "lazy", "rt"
  std::string workload;  // the description's name
  double load = 1.0;
  int round = 0;
  std::string clock = "real";  // "real" or "simulated"
  int64_t duration_ns = 0;     // measured wall time of the run
  bool host_fifo = false;      // tasks ran at host SCHED_FIFO
  // Measuring tasks in description order; measured[0] is the cell's headline
  // (the first RT periodic measuring task, else the first one).
  std::vector<MeasuredTask> measured;
  // Every task instance (the plan's), in plan order.
  std::vector<TaskRecord> tasks;
  Throughput throughput;
  Windows windows;
  // Executive counters summed over vCPUs: "dispatches", "ctx_voluntary",
  // "ctx_involuntary", "irq_timer", "irq_device", "ipis_sent",
  // "softirq_raised", "lock_contentions", "pi_boosts", "might_sleep_bugs", ...
  std::map<std::string, uint64_t> counters;
  std::vector<std::string> notes;  // fallbacks, skipped elements ("io_uring unavailable: ...")
  bool watchdog_tripped = false;
  // Long cells: one entry per segment, in order (at most kMaxCellSegments).
  std::vector<SegmentFigures> segments;
  // The cell did not run its whole duration (a signal, or a checkpoint
  // written while it still ran).
  bool partial = false;
  std::string error;  // non-empty: the cell could not run (the message); other fields empty
};

}  // namespace pb::wl
