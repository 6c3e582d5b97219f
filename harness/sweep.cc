#include "sweep.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <exception>
#include <set>
#include <string>

#include <fmt/format.h>

#include "pb/sys.h"
#include "pb/utc.h"
#include "pb/workloads/cell.h"
#include "run_options.h"
#include "stop_signal.h"

namespace pb::harness {

SweepPlan plan_sweep(const report::RunConfig& config) {
  SweepPlan plan;
  plan.config = config;
  std::set<std::string> used_keys;
  for (const auto& w : config.workloads) {
    std::vector<std::string> sets = config.sets;
    if (config.workloads.size() > 1) {
      const wl::Workload base = wl::load_workload(w, {});
      sets.clear();
      for (const auto& kv : config.sets) {
        const std::string key = kv.substr(0, kv.find('='));
        for (const wl::Param& p : base.params) {
          if (p.name == key) {
            sets.push_back(kv);
            used_keys.insert(key);
            break;
          }
        }
      }
    }
    plan.workloads.push_back(wl::load_workload(w, sets));
    for (size_t i = 0; i + 1 < plan.workloads.size(); ++i) {
      if (plan.workloads[i].name == plan.workloads.back().name) {
        throw UsageError(fmt::format("--workload: '{}' and '{}' are both named '{}'",
                                     config.workloads[i], w, plan.workloads.back().name));
      }
    }
  }
  if (config.workloads.size() > 1) {
    for (const auto& kv : config.sets) {
      const std::string key = kv.substr(0, kv.find('='));
      if (!used_keys.count(key)) {
        throw UsageError(fmt::format("--set {}: no workload of this run declares '{}'", kv, key));
      }
    }
  }
  for (const auto& m : config.models) {
    const auto model = exec::parse_model(m);
    if (!model) throw UsageError(fmt::format("--models: unknown model '{}'", m));
    plan.models.push_back(*model);
  }
  // Models innermost, so that a stopped sweep still holds complete model
  // comparisons for the (workload, load) pairs it reached.
  for (int round = 0; round < config.rounds; ++round) {
    for (size_t wi = 0; wi < plan.workloads.size(); ++wi) {
      for (double load : config.loads) {
        for (size_t mi = 0; mi < plan.models.size(); ++mi) {
          plan.cells.push_back({round, wi, load, mi});
        }
      }
    }
  }
  return plan;
}

namespace {

bool interrupted(const SweepControl& c) {
  return c.interrupt != nullptr && c.interrupt->load(std::memory_order_relaxed);
}

int signal_of(const SweepControl& c) {
  return c.signal != nullptr ? c.signal->load(std::memory_order_relaxed) : 0;
}

// Sleeps up to `ns` in 10 ms steps, ending early when interrupted.
void rest(int64_t ns, const SweepControl& c) {
  for (int64_t slept = 0; slept < ns && !interrupted(c); slept += 10'000'000) ::usleep(10'000);
}

}  // namespace

bool rest_needed(const wl::CellResult& prev) {
  if (!prev.host_fifo || prev.duration_ns <= 0) return false;
  const auto it = prev.counters.find("rt_busy_ns");
  if (it == prev.counters.end()) return true;  // an older cell: rest, as before
  return static_cast<double>(it->second) >= 0.5 * static_cast<double>(prev.duration_ns);
}

SweepOutcome run_sweep(const SweepPlan& plan, report::RunDocument* doc, SweepObserver& observer,
                       const SweepControl& control) {
  const report::RunConfig& config = plan.config;
  SweepOutcome out;
  const int64_t t0 = sys::now_ns();
  const auto elapsed_s = [&] { return static_cast<double>(sys::now_ns() - t0) / 1e9; };
  for (size_t index = 0; index < plan.cells.size(); ++index) {
    const SweepCell& p = plan.cells[index];
    // After a cell that spent much of the host's RT runtime, rest so that
    // the throttling's budget is whole again when the next cell starts.
    if (control.rest_ns > 0 && !doc->cells.empty() && rest_needed(doc->cells.back())) {
      rest(control.rest_ns, control);
    }
    if (interrupted(control)) {
      out.cut_short = true;
      break;
    }
    observer.cell_starting(plan, index);
    const wl::Workload& w = plan.workloads[p.workload];
    wl::RunOptions ro;
    ro.duration_ns = static_cast<int64_t>(config.duration_s * 1e9);
    ro.vcpus = config.vcpus;
    ro.hz = config.hz;
    ro.base_slice_ns = config.base_slice_us * 1000;
    ro.seed = config.seed;
    ro.round = p.round;
    ro.use_fifo = config.use_fifo;
    ro.direct_wakeup = config.wakeup == "direct";
    ro.debug_aids = config.debug_aids == "on" ? 1 : 0;
    ro.interrupt = control.interrupt;
    ro.on_segment = [&](const wl::CellResult& so_far) {
      wl::CellResult c = so_far;
      c.model = config.models[p.model];
      c.workload = w.name;
      c.load = p.load;
      c.round = p.round;
      doc->cells.push_back(std::move(c));
      doc->partial = true;
      doc->stopped_by = "running";
      doc->finished = iso8601_utc(std::time(nullptr));
      doc->elapsed_s = elapsed_s();
      observer.cell_progress(plan, index, *doc);
      doc->cells.pop_back();
    };
    std::vector<std::string> competing;
    if (control.contention) competing = control.contention();
    wl::CellResult cell;
    try {
      cell = config.clock == "simulated"
                 ? wl::simulate_cell(w, plan.models[p.model], p.load, wl::sim_options_from(ro))
                 : wl::run_cell(w, plan.models[p.model], p.load, ro);
    } catch (const std::exception& e) {  // the cells promise not to throw; be safe anyway
      cell = wl::CellResult{};
      cell.error = e.what();
    }
    if (control.contention) {
      for (std::string& n : control.contention()) {
        if (std::find(competing.begin(), competing.end(), n) == competing.end())
          competing.push_back(std::move(n));
      }
    }
    cell.notes.insert(cell.notes.end(), competing.begin(), competing.end());
    // The cell's identity is what was asked for.
    cell.model = config.models[p.model];
    cell.workload = w.name;
    cell.load = p.load;
    cell.round = p.round;
    if (interrupted(control)) {
      out.cut_short = true;
      cell.partial = true;
      // Said in the cell's words too ("interrupted: partial cell"); this
      // adds the signal and how much was measured.
      cell.notes.push_back(fmt::format(
          "interrupted by {}: measured {:.2f} s of {:.2f} s", cli::signal_name(signal_of(control)),
          static_cast<double>(cell.duration_ns) / 1e9, config.duration_s));
    }
    out.cell_failed = out.cell_failed || !cell.error.empty() || cell.watchdog_tripped;
    if (const wl::MeasuredTask* h = report::headline(cell);
        cell.error.empty() && h != nullptr && h->latency.count == 0) {
      ++out.no_samples;
    }
    doc->cells.push_back(std::move(cell));
    // A checkpoint: a killed run still leaves a valid, partial document.
    doc->partial = true;
    doc->stopped_by = "running";
    doc->finished = iso8601_utc(std::time(nullptr));
    doc->elapsed_s = elapsed_s();
    observer.cell_finished(plan, *doc);
  }
  // A signal that came after the last cell cuts nothing: the result is
  // complete (the caller's exit status still says a signal arrived).
  doc->partial = out.cut_short || doc->cells.size() < plan.cells.size();
  doc->stopped_by = out.cut_short ? cli::signal_name(signal_of(control)) : "completed";
  doc->finished = iso8601_utc(std::time(nullptr));
  doc->elapsed_s = elapsed_s();
  return out;
}

}  // namespace pb::harness
