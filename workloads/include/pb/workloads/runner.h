// Running workload descriptions: one cell (model x workload x load) at a time
// on the executive, in real time.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "pb/executive/policy.h"
#include "pb/workloads/result.h"
#include "pb/workloads/workload.h"

namespace pb::wl {

struct RunOptions {
  int64_t duration_ns = 2'000'000'000;
  int vcpus = 1;                  // emulated CPUs (host CPUs; one is always left to the system)
  int hz = 250;
  uint64_t seed = 1;
  int round = 0;
  bool use_fifo = true;           // host SCHED_FIFO when permitted
  // 1: lockdep-lite on, and BUG reports printed in the kernel's words
  // (stderr, the first 16); 0: lockdep off, BUGs only counted
  // (CellResult::counters); -1: lockdep as the build's default
  // (exec::Config), BUGs only counted.
  int debug_aids = -1;
  // Polled during the run: set (e.g. by a SIGINT handler) to end the cell
  // early; the result is then what was measured so far.
  const std::atomic<bool>* interrupt = nullptr;
};

// Runs `w` at `load` under `model`. Never throws for run-time problems:
// CellResult::error says why a cell could not run (no usable CPU, ...);
// elements the host cannot provide (io_uring) are skipped with a note.
CellResult run_cell(const Workload& w, exec::Model model, double load, const RunOptions& opt);

// How long a sweep rests between two real cells so that no period of the
// host's RT throttling (kernel.sched_rt_period_us) holds more SCHED_FIFO time
// than its runtime (sched_rt_runtime_us), when each cell is shorter than the
// runtime: the period's unthrottled remainder plus 50 ms; 0 when the host does
// not throttle. Without it, back-to-back cells at load 1 stall ~50 ms a second.
int64_t rt_throttle_rest_ns();

}  // namespace pb::wl
