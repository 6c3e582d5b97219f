// The result of `preemptbench run`: a value type and its JSON form, schema
// "preemptbench.run/1". Written by `run` (through the reporters,
// reporter.h); read back strictly by `report` and `compare` (run_reader.cc)
// and by the tests. The report library owns it: the CLI only fills it.
//
// Document (keys in this order; a cell's headline is measured[0]):
//   schema        "preemptbench.run/1"
//   tool          {name, version, git_commit}
//   label         machine label for later comparison
//   partial       true when the sweep did not finish (Ctrl-C): the cells
//                 present are valid, the rest were never run
//   stopped_by    "completed", or the signal that ended the sweep ("SIGINT")
//   clock         "real" (the executive in real time) or "simulated"
//   started, finished   UTC ISO-8601; elapsed_s
//   cells_planned models x workloads x loads x rounds
//   machine       pb::to_json(collect_machine_info()) (sysinfo.h)
//   config        every option of the run (RunConfig)
//   workloads     {name: canonical description} of every workload run
//   cells         [cell...], in sweep order:
//     model, workload, load, round, clock, duration_ns, host_fifo,
//     latency_ns     {min,p50,p90,p99,p999,max,count,missed}  (headline)
//     model_delay_ns {same keys}                              (headline)
//     throughput     {ops, ops_per_s, work_fraction, ctx_switches_per_s,
//                     preemptions_per_s, preemptions_by_point_per_s: {point: n}}
//     windows        {preemptoff_max_ns, preemptoff_where, irqsoff_max_ns, irqsoff_where}
//     histogram      the headline's latency histogram (pb::to_json, histogram.h)
//     measured       [{name, sched, vcpu, period_ns, periods, latency_ns,
//                      model_delay_ns, histogram, model_delay_histogram}]
//     counters {name: n}, notes [string], watchdog_tripped, error
// All times are integers in ns; rates are per second of measured wall time.
// A double that is not finite is written as null and read back as NaN.
//
// Reading is strict: required keys (schema, partial, machine, config, cells;
// per cell model, workload, load, latency_ns, throughput, windows, histogram
// with the keys listed above) must be present; every key present must
// have its type; the schema must be exactly this version. Other keys are
// ignored, so writers may add keys within a version.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pb/workloads/result.h"

namespace pb::report {

inline constexpr const char kRunSchema[] = "preemptbench.run/1";
inline constexpr const char kRunSchemaPrefix[] = "preemptbench.run/";

// The options of one `preemptbench run`, as given (defaults filled in).
struct RunConfig {
  std::vector<std::string> models;     // "none", "voluntary", ...
  std::vector<std::string> workloads;  // NAME or FILE, as given
  std::vector<std::string> sets;       // "key=value", applied to every workload
  std::vector<double> loads;
  double duration_s = 0;  // per cell
  int vcpus = 1;
  int hz = 250;
  // The fair class's base slice in us (sysctl_sched_base_slice); 0: the
  // kernel's default for `vcpus` (0.70 ms x (1 + ilog2(min(vcpus, 8)))).
  int64_t base_slice_us = 0;
  uint64_t seed = 1;
  int rounds = 1;
  bool use_fifo = true;
  // The kernel's debugging aids in the executive: lockdep-lite and the BUG
  // reports printed in the kernel's words (counted either way). "on" in
  // debug builds, "off" in release builds unless --debug-aids says.
  std::string debug_aids = "off";
  std::string clock = "real";  // "real" (the executive) or "simulated" (pb::sim)
  // How an hrtimer wakeup reaches the executive's CPU: "signal" (through the
  // current task's interrupt) or "direct" (exec::Config::direct_wakeup).
  std::string wakeup = "signal";
  std::string out_dir;
  std::vector<std::string> formats;  // printed on stdout: "table", "json", "csv", "md"
  bool plots = true;
  std::string command_line;  // argv, space-joined
};

struct RunDocument {
  std::string tool_name = "preemptbench";
  std::string tool_version;
  std::string tool_git_commit;
  std::string label;
  bool partial = false;
  std::string stopped_by = "completed";
  std::string clock = "real";
  std::string started;   // UTC ISO-8601
  std::string finished;  // UTC ISO-8601
  double elapsed_s = 0;
  int cells_planned = 0;
  nlohmann::json machine = nlohmann::json::object();
  RunConfig config;
  nlohmann::json workloads = nlohmann::json::object();  // name -> description (JSON)
  std::vector<wl::CellResult> cells;
};

// The cell's headline measuring task (measured[0]), or nullptr when the cell
// measured nothing (an error cell).
const wl::MeasuredTask* headline(const wl::CellResult& c);

// The cell was cut short by a signal (a note "interrupted..." says so, as
// the cells and the sweep write it).
bool cell_interrupted(const wl::CellResult& c);

nlohmann::ordered_json to_json(const RunDocument& doc);

// Parses what to_json() writes. On success replaces *out and returns true; on
// a malformed document returns false with "KEY.PATH: what was wrong" in
// *error and leaves *out unchanged. Never throws.
bool from_json(const nlohmann::json& j, RunDocument* out, std::string* error);

// Reads and parses a run.json file; errors are prefixed with the path.
bool read_run_document(const std::string& path, RunDocument* out, std::string* error);

// JSON text with 2-space indentation, except that arrays holding only
// numbers (histogram buckets, loads) stay on one line; ends with a newline.
// Invalid UTF-8 in strings is replaced, never thrown on.
std::string dump_json(const nlohmann::ordered_json& j);

}  // namespace pb::report
