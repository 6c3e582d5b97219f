// `preemptbench compare BASELINE CANDIDATE [--metric LIST] [--max-regression
// SPEC]`: per cell, the change of each metric and whether it is a regression
// beyond the threshold and beyond run-to-run noise (pb/report/compare.h says
// how). Usable as a CI gate.
//
// Exit codes: 0 nothing regressed beyond the threshold; 1 something did, or
// the candidate is incomplete or mismatched (each listed; --allow-* accept a
// difference); 2 bad input (unreadable or malformed results, nothing to compare,
// a bad option) with one message.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "commands.h"
#include "pb/atomic_file.h"
#include "pb/report/compare.h"
#include "pb/report/readers.h"

namespace pb::cli {

namespace {

int usage_error(const std::string& message) {
  std::fprintf(stderr, "preemptbench compare: %s\n", message.c_str());
  return kExitUsage;
}

}  // namespace

int compare_main(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  po::options_description desc(
      "usage: preemptbench compare BASELINE CANDIDATE [--metric p99,max,throughput]\n"
      "                            [--max-regression 10%] [--test auto|rank|welch] [--alpha 0.05]\n"
      "                            [--correction holm|none]\n"
      "                            [--out FILE] [--allow-missing] [--allow-partial]\n"
      "                            [--allow-different-params] [--allow-different-duration]\n\n"
      "BASELINE and CANDIDATE are result files or directories (any format `report`\n"
      "reads). Cells are matched on emulated model, workload and load (and machine\n"
      "label when a side holds several machines). Per cell and metric: the change of\n"
      "the centre over rounds; with >= 2 rounds on both sides, a test decides whether\n"
      "a change beyond the threshold is also beyond run-to-run noise: Mann-Whitney U on\n"
      "the rounds (medians) where each side has the rounds to reach the test's level\n"
      "(>= 4 at 0.05 for one test; more under Holm's correction), Welch's t-test (means)\n"
      "below that; --test rank or welch forces one.\n"
      "With one round, the threshold alone decides. The output says how many rounds\n"
      "the observed noise needs. One test runs per cell and metric; by default their\n"
      "p-values are adjusted by Holm's method, so that the chance of any false alarm\n"
      "in the whole comparison stays at or below alpha.\n\n"
      "Fails closed: a baseline cell the candidate lacks, a candidate cell cut short by a\n"
      "signal, or matched cells run with different workload parameters (--set) or\n"
      "durations fail the comparison unless accepted with the --allow-* options. Rounds\n"
      "with identical figures (the same file twice) count once.\n\n"
      "Exit: 0 nothing regressed beyond the threshold; 1 something did, or the candidate\n"
      "is incomplete or mismatched (listed); 2 bad input.\n\n"
      "options");
  desc.add_options()  //
      ("metric", po::value<std::string>(),
       "metrics, comma-separated: min, p50, p90, p99, p99.9, p99.99, max, mean, missed, "
       "throughput (default p99,max,throughput; those a result lacks are skipped)")  //
      ("max-regression", po::value<std::string>(),
       "allowed worsening: 10% (default), or per metric: p99=5%,max=20%,10%")  //
      ("test", po::value<std::string>(),
       "auto (the default: rank where the rounds per side can reach alpha / tests, else "
       "welch), rank (Mann-Whitney U on the rounds) or welch (Welch's t-test on the rounds' "
       "means)")  //
      ("alpha", po::value<double>(),
       "significance level (default 0.05): of the whole comparison with --correction holm, "
       "of each test with none")  //
      ("correction", po::value<std::string>(),
       "holm (the default: Holm's adjustment over all the comparison's tests) or none (each "
       "test at alpha alone)")                                                           //
      ("out", po::value<std::string>(), "also write the comparison (Markdown) to FILE")  //
      ("allow-missing", "accept baseline cells the candidate lacks")                     //
      ("allow-partial", "accept candidate cells cut short by a signal")                  //
      ("allow-different-params",
       "accept cells run with different workload parameters (--set, descriptions)")  //
      ("allow-different-duration", "accept cells run with different --duration")     //
      ("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()("input", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("input", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << desc << '\n';
    return kExitOk;
  }
  const auto inputs =
      vm.count("input") ? vm["input"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (inputs.size() != 2) {
    return usage_error(fmt::format(
        "expected BASELINE and CANDIDATE, got {} argument(s) (see --help)", inputs.size()));
  }
  report::CompareOptions options;
  std::string error;
  if (vm.count("metric") &&
      !report::parse_metrics(vm["metric"].as<std::string>(), &options, &error)) {
    return usage_error(error);
  }
  if (vm.count("max-regression") &&
      !report::parse_max_regression(vm["max-regression"].as<std::string>(), &options, &error)) {
    return usage_error(error);
  }
  if (vm.count("test") && !report::parse_test(vm["test"].as<std::string>(), &options, &error)) {
    return usage_error(error);
  }
  if (vm.count("correction") &&
      !report::parse_correction(vm["correction"].as<std::string>(), &options, &error)) {
    return usage_error(error);
  }
  if (vm.count("alpha")) {
    options.alpha = vm["alpha"].as<double>();
    if (!(options.alpha > 0 && options.alpha < 0.5))
      return usage_error("--alpha: expected a value in (0, 0.5)");
  }
  options.allow_missing = vm.count("allow-missing") > 0;
  options.allow_partial = vm.count("allow-partial") > 0;
  options.allow_different_params = vm.count("allow-different-params") > 0;
  options.allow_different_duration = vm.count("allow-different-duration") > 0;
  if (vm.count("out") && check_writable(vm["out"].as<std::string>(), &error) < 0) {
    return usage_error("--out: " + error);
  }

  std::vector<report::Record> sides[2];
  for (int i = 0; i < 2; ++i) {
    std::vector<std::string> notes;
    if (!report::collect({inputs[static_cast<size_t>(i)]}, &sides[i], &notes, &error))
      return usage_error(error);
    for (const auto& n : notes) std::fprintf(stderr, "note: %s\n", n.c_str());
  }
  report::Comparison cmp;
  if (!report::compare(sides[0], sides[1], options, &cmp, &error)) return usage_error(error);
  const std::string text = report::format_comparison(cmp);
  std::cout << text;
  std::cout.flush();
  if (vm.count("out") && write_file_atomic(vm["out"].as<std::string>(), text, &error) < 0) {
    std::fprintf(stderr, "preemptbench compare: %s\n", error.c_str());
    return kExitFailed;
  }
  return cmp.failed() ? kExitFailed : kExitOk;
}

}  // namespace pb::cli
