// One cell of a sweep in simulated time: the simulated twin of
// pb::wl::run_cell() (workloads/include/pb/workloads/runner.h). The same
// description becomes the same tasks, paths, locks, channels and devices,
// interpreted step for step as runner.cc does on the executive, and the
// result is the same CellResult with clock = "simulated" and durations in
// virtual time.
#pragma once

#include "pb/sim/engine.h"
#include "pb/workloads/result.h"
#include "pb/workloads/runner.h"
#include "pb/workloads/workload.h"

namespace pb::sim {

// Runs `w` at `load` under `model` in virtual time. Never throws for
// run-time problems: CellResult::error says why a cell could not run (bad
// load, duration or vCPU count). Elements the simulator does not model are
// skipped with a note (io segments). Deterministic for SimOptions::seed.
wl::CellResult simulate_cell(const wl::Workload& w, exec::Model model, double load,
                             const SimOptions& opt);

// SimOptions with the run-control fields of `ro` (duration, vCPUs, HZ, seed,
// round, interrupt) and the default costs: what `preemptbench run --clock
// simulated` passes.
SimOptions sim_options_from(const wl::RunOptions& ro);

// The System simulate_cell() runs for `w` (exposed for tests and tools).
// `notes` receives what was skipped or folded.
System system_from_workload(const wl::Workload& w, double load, const SimOptions& opt,
                            std::vector<std::string>* notes);

}  // namespace pb::sim
