#include "run_options.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <sstream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "pb/executive/policy.h"
#include "pb/report/reporter.h"

namespace pb::harness {
namespace {

[[noreturn]] void usage_error(const std::string& message) { throw UsageError(message); }

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Comma-separated entries, trimmed; an empty list or entry is an error.
std::vector<std::string> split_list(const std::string& option, const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (item.empty()) usage_error(fmt::format("{}: empty entry in '{}'", option, text));
    out.push_back(item);
  }
  if (out.empty()) usage_error(fmt::format("{}: empty list", option));
  if (!text.empty() && text.back() == ',') {
    usage_error(fmt::format("{}: empty entry in '{}'", option, text));
  }
  return out;
}

void reject_duplicates(const std::string& option, const std::vector<std::string>& items) {
  std::set<std::string> seen;
  for (const auto& i : items) {
    if (!seen.insert(i).second) usage_error(fmt::format("{}: '{}' given twice", option, i));
  }
}

// The whole text must be a finite number.
bool to_double(const std::string& text, double* out, std::string* rest = nullptr) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || errno == ERANGE || !std::isfinite(v)) return false;
  if (rest != nullptr) {
    *rest = end;
  } else if (*end != '\0') {
    return false;
  }
  *out = v;
  return true;
}

bool all_digits(const std::string& s, size_t from) {
  if (from >= s.size()) return false;
  for (size_t i = from; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

int64_t parse_int(const std::string& option, const std::string& text, int64_t min, int64_t max) {
  errno = 0;
  const long long v = std::strtoll(text.c_str(), nullptr, 10);
  if (!all_digits(text, !text.empty() && text[0] == '-' ? 1 : 0) || errno == ERANGE) {
    usage_error(fmt::format("{}: '{}' is not an integer", option, text));
  }
  if (v < min || v > max) {
    usage_error(fmt::format("{}: {} is out of range [{}, {}]", option, v, min, max));
  }
  return v;
}

uint64_t parse_seed(const std::string& text) {
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
  if (!all_digits(text, 0) || errno == ERANGE) {
    usage_error(fmt::format("--seed: '{}' is not a non-negative integer", text));
  }
  return v;
}

}  // namespace

std::vector<std::string> parse_models(const std::string& text) {
  if (trim(text) == "all") return split_list("--models", kDefaultModels);
  std::vector<std::string> models = split_list("--models", text);
  for (const auto& m : models) {
    if (!exec::parse_model(m)) {
      usage_error(fmt::format(
          "--models: unknown model '{}' (expected none, voluntary, full, lazy, rt or all)", m));
    }
  }
  reject_duplicates("--models", models);
  return models;
}

std::vector<double> parse_loads(const std::string& text) {
  std::vector<double> loads;
  for (const auto& item : split_list("--loads", text)) {
    double v = 0;
    if (!to_double(item, &v)) usage_error(fmt::format("--loads: '{}' is not a number", item));
    if (!(v >= kMinLoad) || v > kMaxLoad) {
      usage_error(fmt::format("--loads: {} is out of range [{}, {}]", item, kMinLoad, kMaxLoad));
    }
    for (double l : loads) {
      if (l == v) usage_error(fmt::format("--loads: {} given twice", item));
    }
    loads.push_back(v);
  }
  return loads;
}

double parse_duration_s(const std::string& text) {
  double v = 0;
  std::string unit;
  if (!to_double(trim(text), &v, &unit)) {
    usage_error(
        fmt::format("--duration: '{}' is not a duration (seconds, or with ms, s, m, h)", text));
  }
  if (unit == "ms") {
    v /= 1000.0;
  } else if (unit == "m") {
    v *= 60.0;
  } else if (unit == "h") {
    v *= 3600.0;
  } else if (!unit.empty() && unit != "s") {
    usage_error(fmt::format("--duration: unknown unit '{}' in '{}' (ms, s, m or h)", unit, text));
  }
  if (!(v > 0)) usage_error(fmt::format("--duration: must be positive, got '{}'", text));
  if (v > kMaxDurationS) {
    usage_error(fmt::format("--duration: '{}' is longer than a day per cell", text));
  }
  if (v < 0.001) usage_error(fmt::format("--duration: '{}' is shorter than 1 ms", text));
  return v;
}

std::vector<std::string> parse_formats(const std::string& text) {
  std::vector<std::string> formats = split_list("--format", text);
  for (const auto& f : formats) {
    if (!report::parse_run_format(f)) {
      usage_error(
          fmt::format("--format: unknown format '{}' (expected table, tasks, json, csv or md)", f));
    }
  }
  reject_duplicates("--format", formats);
  return formats;
}

std::string label_for_path(const std::string& label) {
  std::string out;
  for (char c : label) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    out += ok ? c : '-';
  }
  if (out.empty() || out == "." || out == "..") out = "run";
  return out;
}

ParsedRun parse_run_args(const std::vector<std::string>& args, const RunDefaults& defaults) {
  namespace po = boost::program_options;
  po::options_description desc(
      "usage: preemptbench run [OPTIONS]\n\n"
      "Sweeps preemption models x workloads x load levels on the executive and writes\n"
      "run.json (schema preemptbench.run/1), run.md, run.csv and plots to --out.\n"
      "Progress goes to stderr, the --format reports to stdout. Ctrl-C ends the\n"
      "current cell and writes what was measured, marked partial (exit 130).\n"
      "A cell longer than 15 s runs in segments of 10 s or more (at most 360): a\n"
      "progress line and a checkpoint of run.json after each, host stolen time per\n"
      "segment, histograms merged.\n\noptions");
  desc.add_options()  //
      ("models", po::value<std::string>()->default_value(kDefaultModels),
       "models to run, comma-separated (none, voluntary, full, lazy, rt; or all)")  //
      ("workload", po::value<std::vector<std::string>>(),
       "NAME (built-in) or FILE (a description); repeatable. Default: the default suite")  //
      ("set", po::value<std::vector<std::string>>(),
       "key=value, a workload parameter applied to every workload; repeatable")  //
      ("loads", po::value<std::string>()->default_value(kDefaultLoads),
       "load levels, comma-separated numbers in [0.01, 1]: the background tasks' busy share")  //
      ("duration", po::value<std::string>()->default_value(kDefaultDuration),
       "measured time per cell: seconds, or with a unit (500ms, 2s, 1m, 1h)")  //
      ("vcpus", po::value<std::string>()->default_value("1"),
       "emulated CPUs (each a host CPU; one CPU always stays with the system)")     //
      ("hz", po::value<std::string>()->default_value("250"), "emulated tick rate")  //
      ("base-slice-us", po::value<std::string>()->default_value("0"),
       "the fair class's base slice (sysctl_sched_base_slice) in us, 50..1000000; 0: the "
       "kernel's default for --vcpus, 700 x (1 + log2(min(vcpus, 8))). Also --set "
       "base_slice_us=N")  //
      ("seed", po::value<std::string>()->default_value("1"),
       "seed of the workloads' randomness")                                                       //
      ("rounds", po::value<std::string>()->default_value("1"), "repetitions of the whole sweep")  //
      ("out", po::value<std::string>(),
       "output directory (created). Default: out/run-LABEL-UTCTIME in the current directory. "
       "A directory that already holds a run.json is refused unless --force")  //
      ("format", po::value<std::string>()->default_value("table"),
       "reports printed on stdout at the end, comma-separated: table, tasks (one row per task "
       "per cell), json, csv, md")  //
      ("label", po::value<std::string>(),
       "machine label for later comparison. Default: the host name")               //
      ("force", "replace a run already in --out (its run.json, run.md, run.csv)")  //
      ("allow-shared-cpu",
       "run even when another preemptbench run or pb-cyclictest holds a host CPU this run "
       "measures on (the results then include that competition)")         //
      ("no-plots", "do not run plot_run.py")                              //
      ("no-fifo", "run the executive's threads without host SCHED_FIFO")  //
      ("debug-aids", po::value<std::string>(),
       "on or off: lockdep-lite (AB-BA orders, IRQ-unsafe classes, locks held at return to user) "
       "and the kernel-worded BUG reports on stderr; off only counts the BUGs. Default: on in "
       "debug builds, off in release builds")  //
      ("clock", po::value<std::string>()->default_value("real"),
       "real (the executive on this host) or simulated (virtual time, pb::sim)")  //
      ("wakeup", po::value<std::string>()->default_value("signal"),
       "signal or direct: how an hrtimer wakeup reaches the executive's vCPU. direct: the "
       "sleeping task's own thread carries out the switch the interrupted task's irq exit "
       "would make (one signal and host switch fewer; DESIGN.md, Direct preemption)")  //
      ("list-workloads", "print the built-in workloads and exit")                      //
      ("help,h", "show this help");

  // Stray words are collected so that the message can name them.
  po::options_description hidden;
  hidden.add_options()("stray", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description stray;
  stray.add("stray", -1);
  po::variables_map vm;
  // No abbreviations: "--model" is not silently "--models".
  const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  po::store(po::command_line_parser(args).options(all).positional(stray).style(style).run(), vm);
  po::notify(vm);
  if (vm.count("stray")) {
    usage_error(fmt::format("unexpected argument '{}' (options start with --)",
                            vm["stray"].as<std::vector<std::string>>().front()));
  }

  ParsedRun p;
  std::ostringstream help;
  help << desc;
  p.help_text = help.str();
  p.help = vm.count("help") != 0;
  p.list_workloads = vm.count("list-workloads") != 0;
  if (p.help || p.list_workloads) return p;

  report::RunConfig& c = p.config;
  c.models = parse_models(vm["models"].as<std::string>());
  c.workloads =
      vm.count("workload") ? vm["workload"].as<std::vector<std::string>>() : defaults.workloads;
  if (c.workloads.empty()) usage_error("no workload to run (give --workload NAME|FILE)");
  reject_duplicates("--workload", c.workloads);
  if (vm.count("set")) c.sets = vm["set"].as<std::vector<std::string>>();
  c.base_slice_us =
      parse_int("--base-slice-us", vm["base-slice-us"].as<std::string>(), 0, 1'000'000);
  // --set base_slice_us=N is the run's base slice, not a workload parameter.
  for (auto it = c.sets.begin(); it != c.sets.end();) {
    if (it->rfind("base_slice_us=", 0) == 0) {
      c.base_slice_us = parse_int("--set base_slice_us", it->substr(14), 0, 1'000'000);
      it = c.sets.erase(it);
    } else {
      ++it;
    }
  }
  if (c.base_slice_us != 0 && c.base_slice_us < 50) {
    usage_error(
        fmt::format("--base-slice-us: {} is below 50 us (0 for the default)", c.base_slice_us));
  }
  for (const auto& s : c.sets) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      usage_error(fmt::format("--set: '{}' is not key=value", s));
    }
  }
  c.loads = parse_loads(vm["loads"].as<std::string>());
  c.duration_s = parse_duration_s(vm["duration"].as<std::string>());
  const int max_vcpus = std::max(1, defaults.max_vcpus);
  c.vcpus = static_cast<int>(parse_int("--vcpus", vm["vcpus"].as<std::string>(), 1, 1024));
  if (c.vcpus > max_vcpus) {
    usage_error(fmt::format(
        "--vcpus: {} vCPUs need {} host CPUs besides the system's, this process may use {}",
        c.vcpus, c.vcpus, max_vcpus));
  }
  c.hz = static_cast<int>(parse_int("--hz", vm["hz"].as<std::string>(), 1, 10000));
  c.seed = parse_seed(vm["seed"].as<std::string>());
  c.rounds = static_cast<int>(parse_int("--rounds", vm["rounds"].as<std::string>(), 1, 1000));
  c.formats = parse_formats(vm["format"].as<std::string>());
  c.plots = vm.count("no-plots") == 0;
  c.use_fifo = vm.count("no-fifo") == 0;
#ifdef NDEBUG
  c.debug_aids = "off";
#else
  c.debug_aids = "on";
#endif
  if (vm.count("debug-aids")) {
    c.debug_aids = vm["debug-aids"].as<std::string>();
    if (c.debug_aids != "on" && c.debug_aids != "off") {
      throw UsageError("--debug-aids: expected on or off, got '" + c.debug_aids + "'");
    }
  }
  c.clock = vm["clock"].as<std::string>();
  if (c.clock != "real" && c.clock != "simulated") {
    throw UsageError("--clock: expected real or simulated, got '" + c.clock + "'");
  }
  c.wakeup = vm["wakeup"].as<std::string>();
  if (c.wakeup != "signal" && c.wakeup != "direct") {
    throw UsageError("--wakeup: expected signal or direct, got '" + c.wakeup + "'");
  }
  p.label = vm.count("label") ? vm["label"].as<std::string>() : defaults.label;
  if (trim(p.label).empty()) usage_error("--label: must not be empty");
  p.force = vm.count("force") != 0;
  p.allow_shared_cpu = vm.count("allow-shared-cpu") != 0;
  p.out_given = vm.count("out") != 0;
  if (vm.count("out")) {
    c.out_dir = vm["out"].as<std::string>();
    if (c.out_dir.empty()) usage_error("--out: must not be empty");
  } else {
    c.out_dir = fmt::format("out/run-{}-{}", label_for_path(p.label), defaults.timestamp);
  }
  for (const auto& a : args) c.command_line += (c.command_line.empty() ? "" : " ") + a;
  c.command_line = "preemptbench run" + (c.command_line.empty() ? "" : " " + c.command_line);
  return p;
}

}  // namespace pb::harness
