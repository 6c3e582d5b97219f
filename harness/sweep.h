// `preemptbench run`'s sweep as a library: the plan (models x workloads x
// loads x rounds, models innermost), each cell on the chosen clock, the rests
// between real cells, and the run document filled cell by cell. An observer
// sees each cell start and finish (the CLI prints progress and writes its
// checkpoint there), so a test drives a whole sweep without the binary, as
// Google Benchmark separates its runner from its reporters.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pb/executive/policy.h"
#include "pb/report/run_document.h"
#include "pb/workloads/workload.h"

namespace pb::harness {

// One cell of the sweep: indices into SweepPlan's workloads and models.
struct SweepCell {
  int round = 0;
  size_t workload = 0;
  double load = 1.0;
  size_t model = 0;
};

struct SweepPlan {
  report::RunConfig config;
  std::vector<wl::Workload> workloads;  // loaded, each with its --set keys applied
  std::vector<exec::Model> models;
  std::vector<SweepCell> cells;  // in sweep order
};

// Loads every workload of `config` and orders the cells. With several
// workloads each gets only the --set keys it declares, and a key that none
// declares is an error; with one, load_workload() itself names an undeclared
// key. Throws UsageError or wl::WorkloadError (bad input, exit 2) before
// anything runs.
SweepPlan plan_sweep(const report::RunConfig& config);

class SweepObserver {
 public:
  virtual ~SweepObserver() = default;
  // Cell `index` of plan.cells is about to run.
  virtual void cell_starting(const SweepPlan& plan, size_t index) {
    (void)plan;
    (void)index;
  }
  // A long cell finished a segment: doc.cells.back() is the cell so far
  // (marked partial, "in progress"), and `doc` a valid document marked
  // partial, ready to checkpoint. The next call is for the same cell.
  virtual void cell_progress(const SweepPlan& plan, size_t index, const report::RunDocument& doc) {
    (void)plan;
    (void)index;
    (void)doc;
  }
  // A cell ran: doc.cells.back() is its result, and `doc` is a valid
  // document marked partial ("stopped_by": "running"), ready to checkpoint.
  virtual void cell_finished(const SweepPlan& plan, const report::RunDocument& doc) {
    (void)plan;
    (void)doc;
  }
};

struct SweepControl {
  // Set (by a signal handler) to end the current cell and the sweep.
  const std::atomic<bool>* interrupt = nullptr;
  // The signal that set it, for the interrupted cell's note and stopped_by.
  const std::atomic<int>* signal = nullptr;
  // Rest before a real cell that follows one whose emulated RT-class tasks
  // kept a vCPU busy long enough to leave the host's RT throttling budget
  // spent (rest_needed()); wl::rt_throttle_rest_ns(). 0: never.
  int64_t rest_ns = 0;
  // Called just before and just after each cell: notes on whatever else
  // competes for the cell's host CPUs (other real-time threads, another
  // measurement); what either call returns becomes the cell's notes. Empty:
  // no check (the simulated clock).
  std::function<std::vector<std::string>()> contention;
};

// Whether the cell after `prev` should rest first: `prev` ran at host
// SCHED_FIFO and its emulated RT-class busy time (counters["rt_busy_ns"],
// summed over vCPUs) was at least half its duration. With the host class
// mirrored (the executive's DESIGN.md section "Host class"), fair work runs
// at host SCHED_OTHER and spends none of the RT runtime, so most cells need
// no rest.
bool rest_needed(const wl::CellResult& prev);

struct SweepOutcome {
  bool cell_failed = false;  // a cell has an error or tripped the watchdog
  bool cut_short = false;    // a signal ended a cell early or stopped the sweep
  // Cells whose headline measuring task recorded no wakeup (its notes say
  // why): a result with nothing measured, which `run` reports as a failure.
  size_t no_samples = 0;
};

// Runs every cell of `plan` in order into doc->cells (the rest of *doc, its
// header, is the caller's), on the clock of plan.config. Ends with doc's
// partial, stopped_by, finished and elapsed_s set. A cell's identity (model,
// workload, load, round) is what was asked for, whatever the clock returned.
SweepOutcome run_sweep(const SweepPlan& plan, report::RunDocument* doc, SweepObserver& observer,
                       const SweepControl& control);

}  // namespace pb::harness
