// `preemptbench scenario NAME [--model M] [--clock real|simulated]
// [--set key=value ...] [--json FILE] [--seed N]` and `preemptbench scenario
// --list`: runs one scenario (scenarios/include/pb/scenarios/scenario.h) and prints its
// measured outcome beside the analytic expectation. Exit code 0 when they
// match, 1 when they do not (or a real run could not happen), 2 for bad
// input. Option errors throw (Boost.Program_options) and main() turns them
// into one message and exit code 2.
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "commands.h"
#include "cpu_guard.h"
#include "pb/atomic_file.h"
#include "pb/executive/executive.h"
#include "pb/scenarios/scenario.h"
#include "run_options.h"

namespace pb::cli {
namespace {

void print_list(std::ostream& o) {
  for (const scenarios::ScenarioInfo& s : scenarios::scenario_list()) {
    o << s.name << "  (default model " << exec::to_string(s.default_model)
      << "; clocks: simulated, real)\n  " << s.summary << "\n  outcome:";
    for (const std::string& k : s.keys) o << " " << k;
    o << "\n  parameters (--set key=value):\n";
    for (const scenarios::ScenarioParam& p : s.params) {
      std::string v = p.value.is_string() ? p.value.get<std::string>() : p.value.dump();
      o << "    " << p.name << "=" << v;
      if (!p.choices.empty()) {
        o << " (";
        for (size_t i = 0; i < p.choices.size(); ++i) o << (i ? "|" : "") << p.choices[i];
        o << ")";
      }
      o << ": " << p.help << "\n";
    }
    o << "\n";
  }
}

int fail_usage(const std::string& msg) {
  std::fprintf(stderr, "preemptbench scenario: %s\n", msg.c_str());
  return kExitUsage;
}

}  // namespace

int scenario_main(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  po::options_description desc(
      "usage: preemptbench scenario NAME [--model M] [--clock real|simulated] [--set key=value "
      "...]\n"
      "                             [--json FILE] [--seed N] [--allow-shared-cpu]\n"
      "       preemptbench scenario --list\n\n"
      "Runs one scenario and prints its measured outcome beside the expectation computed\n"
      "from its parameters (response-time analysis or the kernel's rule). Exit code 0\n"
      "when they match, 1 when they differ, 2 for bad input.\n\noptions");
  std::string name, model_s, clock_s = "simulated", json_path;
  std::vector<std::string> sets;
  uint64_t seed = 1;
  desc.add_options()  //
      ("model", po::value(&model_s),
       "none, voluntary, full, lazy or rt (default: the scenario's)")                             //
      ("clock", po::value(&clock_s), "simulated (default) or real (the executive, on CPU time)")  //
      ("set", po::value(&sets)->composing(), "key=value: a scenario parameter (repeatable)")      //
      ("json", po::value(&json_path),
       "also write the result as JSON to FILE ('-': stdout only)")       //
      ("seed", po::value(&seed), "seed of a simulated run (default 1)")  //
      ("list", "list the scenarios, their parameters and defaults")      //
      ("allow-shared-cpu",
       "real clock: measure even when another of our measurements holds the CPU")  //
      ("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()("name", po::value(&name));
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("name", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  po::notify(vm);

  if (vm.count("help")) {
    std::cout << desc << "\nscenarios:";
    for (const scenarios::ScenarioInfo& s : scenarios::scenario_list()) std::cout << " " << s.name;
    std::cout << "\n";
    return kExitOk;
  }
  if (vm.count("list")) {
    print_list(std::cout);
    return kExitOk;
  }
  if (name.empty()) return fail_usage("a scenario name is required (see --list)");
  std::optional<exec::Model> model;
  if (vm.count("model")) {
    model = exec::parse_model(model_s);
    if (!model)
      return fail_usage("--model: expected none, voluntary, full, lazy or rt, got '" + model_s +
                        "'");
  }
  const std::optional<scenarios::Clock> clock = scenarios::parse_clock(clock_s);
  if (!clock) return fail_usage("--clock: expected simulated or real, got '" + clock_s + "'");
  if (!json_path.empty() && json_path != "-") {
    std::string error;
    if (check_writable(json_path, &error) < 0) return fail_usage("--json: " + error);
  }

  // The real clock measures on the vCPU's host CPU: not beside another of our
  // measurements (harness/cpu_guard.h). An unknown name is left to
  // run_scenario()'s message (it lists the scenarios), whoever holds the CPU.
  CpuClaim claim;
  std::vector<std::string> shared_notes;
  if (*clock == scenarios::Clock::kReal && scenarios::find_scenario(name) != nullptr) {
    try {
      claim = harness::claim_measuring_cpus(exec::Config{}.vcpus, "preemptbench scenario " + name,
                                            vm.count("allow-shared-cpu") != 0, &shared_notes);
    } catch (const harness::UsageError& e) {
      return fail_usage(e.what());
    }
  }

  scenarios::ScenarioResult r;
  try {
    scenarios::ScenarioOptions opt;
    opt.seed = seed;
    r = scenarios::run_scenario(name, model, *clock, sets, opt);
  } catch (const scenarios::ScenarioError& e) {
    return fail_usage(e.what());
  } catch (const scenarios::ScenarioRunError& e) {
    std::fprintf(stderr, "preemptbench scenario: cannot run: %s\n", e.what());
    return kExitFailed;
  }
  r.notes.insert(r.notes.end(), shared_notes.begin(), shared_notes.end());
  const std::string json = scenarios::to_json(r).dump(2) + "\n";
  if (json_path == "-") {
    std::cout << json;
  } else {
    std::cout << scenarios::to_text(r);
    if (!json_path.empty()) {
      std::string error;
      if (write_file_atomic(json_path, json, &error) < 0) {
        std::fprintf(stderr, "preemptbench scenario: --json: %s\n", error.c_str());
        return kExitFailed;
      }
    }
  }
  std::cout.flush();
  return r.pass ? kExitOk : kExitFailed;
}

}  // namespace pb::cli
