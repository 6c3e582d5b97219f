// `preemptbench validate [--models LIST] [--sections LIST] [--clock
// real|simulated] [--duration D] [--load L] [--statistic p99] [--tolerance
// 10%] [--floor-us 50] [--workload NAME|FILE] [--set key=value ...] [--seed
// N] [--json FILE]`: each model x non-preemptible section length in
// simulated time beside the analysis and, on the real clock, beside a real
// run on the executive (validate.h says what is compared and how).
//
// Exit codes: 0 every row within tolerance; 1 a row strayed (listed) or a
// cell could not run; 2 bad input; 128+signal when interrupted (the JSON is
// then written with "partial": true).
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "commands.h"
#include "cpu_guard.h"
#include "pb/atomic_file.h"
#include "pb/scenarios/validate.h"
#include "pb/sysinfo.h"
#include "pb/utc.h"
#include "pb/workloads/cell.h"
#include "pb/workloads/workload.h"
#include "run_options.h"
#include "stop_signal.h"

namespace pb::cli {
namespace {

int fail_usage(const std::string& msg) {
  std::fprintf(stderr, "preemptbench validate: %s\n", msg.c_str());
  return kExitUsage;
}

// "100,200,500": positive integers (µs), at most 1 s each.
std::vector<int64_t> parse_sections(const std::string& text) {
  std::vector<int64_t> out;
  size_t start = 0;
  for (;;) {
    const size_t at = text.find(',', start);
    const std::string item =
        text.substr(start, at == std::string::npos ? std::string::npos : at - start);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || v <= 0 || v > 1'000'000) {
      throw harness::UsageError(fmt::format(
          "--sections: \"{}\" is not a section length in µs (an integer, 1..1000000)", item));
    }
    out.push_back(v);
    if (at == std::string::npos) break;
    start = at + 1;
  }
  return out;
}

// "10%" or "0.1": a fraction in [0, 10].
double parse_fraction(const std::string& text) {
  std::string t = text;
  double scale = 1.0;
  if (!t.empty() && t.back() == '%') {
    t.pop_back();
    scale = 0.01;
  }
  size_t used = 0;
  double v = -1;
  try {
    v = std::stod(t, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (t.empty() || used != t.size() || !std::isfinite(v) || v * scale < 0 || v * scale > 10) {
    throw harness::UsageError(
        fmt::format("--tolerance: \"{}\" is not a tolerance (e.g. 10% or 0.1; 0..1000%)", text));
  }
  return v * scale;
}

int64_t param_int(const wl::Workload& w, const std::string& name, int64_t fallback) {
  for (const wl::Param& p : w.params) {
    if (p.name != name) continue;
    try {
      size_t used = 0;
      const long long v = std::stoll(p.json, &used);
      if (used == p.json.size()) return v;
    } catch (const std::exception&) {
    }
  }
  return fallback;
}

bool declares(const wl::Workload& w, const std::string& name) {
  for (const wl::Param& p : w.params)
    if (p.name == name) return true;
  return false;
}

// The headline measuring task's model delay, or nullopt with a note.
std::optional<wl::LatencySummary> headline_delay(const wl::CellResult& c,
                                                 std::vector<std::string>* notes) {
  if (!c.error.empty()) {
    notes->push_back(c.clock + ": " + c.error);
    return std::nullopt;
  }
  if (c.measured.empty()) {
    notes->push_back(c.clock + ": the workload has no measuring task");
    return std::nullopt;
  }
  if (c.watchdog_tripped) notes->push_back(c.clock + ": the watchdog ended the cell");
  return c.measured.front().model_delay;
}

}  // namespace

int validate_main(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  scenarios::ValidateConfig c;
  std::string models_text = harness::kDefaultModels, sections_text = "100,200,500,1000,2000,5000";
  std::string duration_text = "2", statistic_text = "p99", tolerance_text = "10%", json_path;
  double floor_us = 50;
  po::options_description desc(
      "usage: preemptbench validate [--models LIST] [--sections LIST] [--clock real|simulated]\n"
      "                             [--duration D] [--load L] [--statistic p50|p90|p99|max]\n"
      "                             [--tolerance 10%] [--floor-us 50] [--workload NAME|FILE]\n"
      "                             [--set key=value ...] [--seed N] [--json FILE]\n"
      "                             [--allow-shared-cpu]\n\n"
      "For every model and non-preemptible section length, the model-induced delay of the\n"
      "workload's measuring task (its wakeup's reschedule request -> dispatch) in simulated time "
      "beside\n"
      "the analysis (NONE, VOLUNTARY: the section; FULL, LAZY, RT: 0) and, on the real clock,\n"
      "beside a real run on the executive. A value is within tolerance when it differs from\n"
      "its expectation by at most max(TOLERANCE x expectation, FLOOR). Exit code 0 when every\n"
      "row is, 1 when one strays (or a cell could not run), 2 for bad input.\n\noptions");
  desc.add_options()                                                                     //
      ("models", po::value(&models_text), "models, comma-separated (default all five)")  //
      ("sections", po::value(&sections_text),
       "non-preemptible section lengths in µs (default 100,200,500,1000,2000,5000)")  //
      ("clock", po::value(&c.clock),
       "real (default: simulated and real) or simulated (no privileges)")              //
      ("duration", po::value(&duration_text), "per cell: 2, 500ms, 1m (default 2 s)")  //
      ("load", po::value(&c.load), "background load in (0, 0.95] (default 0.75)")      //
      ("statistic", po::value(&statistic_text),
       "measured vs simulated at: p50, p90, p99 (default), max")                         //
      ("tolerance", po::value(&tolerance_text), "relative tolerance (default 10%)")      //
      ("floor-us", po::value(&floor_us), "absolute tolerance floor in µs (default 50)")  //
      ("workload", po::value(&c.workload),
       "a description declaring section_us (default kernel-path)")                                //
      ("set", po::value(&c.sets), "key=value for the workload's other parameters (repeatable)")   //
      ("seed", po::value(&c.seed), "seed (default 1)")                                            //
      ("json", po::value(&json_path), "also write the result to FILE (preemptbench.validate/1)")  //
      ("allow-shared-cpu", "measure even when another of our measurements holds the CPU")         //
      ("help,h", "show this help");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << desc << '\n';
    return kExitOk;
  }
  try {
    c.models = harness::parse_models(models_text);
    c.sections_us = parse_sections(sections_text);
    c.duration_s = harness::parse_duration_s(duration_text);
    c.tolerance.relative = parse_fraction(tolerance_text);
  } catch (const harness::UsageError& e) {
    return fail_usage(e.what());
  }
  if (c.clock != "real" && c.clock != "simulated")
    return fail_usage(fmt::format("--clock: \"{}\" (real or simulated)", c.clock));
  if (!(c.load > 0 && c.load <= 0.95))
    return fail_usage(fmt::format(
        "--load {}: must be in (0, 0.95] (at 1 the host's RT throttling would stall the vCPU)",
        c.load));
  const auto st = scenarios::parse_statistic(statistic_text);
  if (!st)
    return fail_usage(fmt::format("--statistic: \"{}\" (p50, p90, p99 or max)", statistic_text));
  c.statistic = *st;
  if (!(floor_us >= 0 && floor_us <= 1e6)) return fail_usage("--floor-us: must be in 0..1000000");
  c.tolerance.floor_ns = static_cast<int64_t>(floor_us * 1000);
  for (const std::string& s : c.sets) {
    if (s.rfind("section_us=", 0) == 0) return fail_usage("--set section_us: use --sections");
  }
  if (!json_path.empty()) {
    std::string error;
    if (check_writable(json_path, &error) < 0) return fail_usage("--json: " + error);
  }

  // Load every section's description up front: bad input fails before any run.
  std::vector<wl::Workload> workloads;
  try {
    const wl::Workload base = wl::load_workload(c.workload, c.sets);
    if (!declares(base, "section_us"))
      return fail_usage(c.workload + ": declares no section_us parameter");
    for (const int64_t s : c.sections_us) {
      std::vector<std::string> sets = c.sets;
      sets.push_back(fmt::format("section_us={}", s));
      workloads.push_back(wl::load_workload(c.workload, sets));
    }
  } catch (const std::exception& e) {
    return fail_usage(e.what());
  }
  c.cond_resched_us = param_int(workloads.front(), "cond_resched_us", 0);

  // The real clock measures on the vCPU's host CPU: not beside another of our
  // measurements (harness/cpu_guard.h).
  CpuClaim claim;
  std::vector<std::string> shared_notes;
  if (c.clock == "real") {
    try {
      claim = harness::claim_measuring_cpus(wl::RunOptions{}.vcpus, "preemptbench validate",
                                            vm.count("allow-shared-cpu") != 0, &shared_notes);
    } catch (const harness::UsageError& e) {
      return fail_usage(e.what());
    }
  }

  scenarios::ValidateResult r;
  r.config = c;
  r.started = iso8601_utc(std::time(nullptr));
  r.machine =
      c.clock == "real" ? nlohmann::json(to_json(collect_machine_info())) : nlohmann::json();
  install_stop_signal_handlers();

  wl::RunOptions ro;
  ro.duration_ns = static_cast<int64_t>(c.duration_s * 1e9);
  ro.seed = c.seed;
  ro.interrupt = &g_interrupt;
  const size_t total = c.models.size() * c.sections_us.size();
  bool cell_failed = false;
  for (size_t i = 0; i < c.sections_us.size() && !g_interrupt.load(); ++i) {
    for (const std::string& name : c.models) {
      if (g_interrupt.load()) break;
      const exec::Model model = *exec::parse_model(name);
      scenarios::ValidateRow row;
      row.model = name;
      row.section_us = c.sections_us[i];
      row.analytic_ns = scenarios::analytic_worst_delay_ns(model, c.sections_us[i] * 1000,
                                                           c.cond_resched_us * 1000);
      std::fprintf(stderr, "[%zu/%zu] %s, section %lld us ...\n", r.rows.size() + 1, total,
                   name.c_str(), static_cast<long long>(c.sections_us[i]));
      const wl::CellResult sim_cell =
          wl::simulate_cell(workloads[i], model, c.load, wl::sim_options_from(ro));
      if (const auto d = headline_delay(sim_cell, &row.notes)) row.simulated = *d;
      if (c.clock == "real") {
        const wl::CellResult real_cell = wl::run_cell(workloads[i], model, c.load, ro);
        if (g_interrupt.load()) break;  // a cut cell would compare a fraction of a run
        if (const auto d = headline_delay(real_cell, &row.notes)) {
          row.measured = *d;
        } else {
          row.measured = wl::LatencySummary{};
        }
        if (!real_cell.error.empty() || real_cell.watchdog_tripped) cell_failed = true;
        if (!real_cell.host_fifo) row.notes.push_back("real: without host SCHED_FIFO (not root?)");
        for (const std::string& n : shared_notes) row.notes.push_back("real: " + n);
      }
      scenarios::judge(c, &row);
      r.rows.push_back(std::move(row));
    }
  }
  r.partial = r.rows.size() < total;
  r.finished = iso8601_utc(std::time(nullptr));

  std::cout << scenarios::render_validate_table(r);
  std::cout.flush();
  int rc = r.pass() ? kExitOk : kExitFailed;
  if (g_interrupt.load()) rc = 128 + (g_signal.load() > 0 ? g_signal.load() : 2);
  if (!json_path.empty()) {
    std::string error;
    if (write_file_atomic(json_path, to_json(r).dump(2) + "\n", &error) < 0) {
      std::fprintf(stderr, "preemptbench validate: --json: %s\n", error.c_str());
      if (rc == kExitOk) rc = kExitFailed;
    }
  }
  if (cell_failed)
    std::fprintf(stderr, "preemptbench validate: some real cells failed (see the notes)\n");
  if (r.partial)
    std::fprintf(stderr,
                 "preemptbench validate: interrupted by %s after %zu of %zu rows: partial\n",
                 signal_name(g_signal.load()), r.rows.size(), total);
  return rc;
}

}  // namespace pb::cli
