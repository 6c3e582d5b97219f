// `preemptbench compare`: per cell and metric, the change from a baseline to
// a candidate and whether it is beyond the allowed regression and beyond
// run-to-run noise.
//
// Cells are matched on emulated model, workload and load — and on the machine
// label too when either side holds more than one label (a fleet run); kernel
// and host model are what a tuning change alters, so they never take part.
//
// Method, per cell and metric, on the per-round values (one value per round:
// a run's round, or one result file), with one of two tests (--test; the
// default, auto, takes rank where the rounds allow it and welch below):
//   rank (Mann-Whitney U): change = (median(candidate) -
//     median(baseline)) / median(baseline); a regression when it exceeds the
//     threshold AND the two-sided U test gives p < alpha (default 0.05). One
//     round spoiled by a host stall moves a rank by one, not by its size, so
//     a tail metric's outlier rounds neither hide nor fake a change. The test
//     is exact for the round counts people use; with fewer than 4 rounds per
//     side no outcome reaches p < 0.05 (the smallest p of 3 against 3 is
//     0.1): forced with --test rank, a change beyond the threshold is then
//     reported as noise with the rounds needed.
//   welch: change of the means, Welch's t-test on the rounds, and the
//     (1 - alpha) confidence interval of the change.
//   Either way: signed so that positive is worse (throughput: a drop); beyond
//   the threshold with p >= alpha it is reported as noise; with 1 round on
//   either side there is no noise estimate and the threshold alone decides.
//   scripts/bench-gate measures both tests' false-alarm and detection rates
//   on a machine; results/vm/gate.md holds this VM's, which chose the default.
// Many tests, one gate: a comparison runs one test per cell and metric, and
// fails when any of them finds a regression, so at a fixed alpha per test a
// suite of 30 cells x 3 metrics would cry wolf on most A/A runs. By default
// (--correction holm) the p-values of all tests are adjusted by Holm's
// step-down method, which keeps the chance of any false alarm in the whole
// comparison at or below alpha for any dependence between the tests (Holm,
// "A simple sequentially rejective multiple test procedure", Scand. J.
// Statist. 6, 1979); a regression needs its adjusted p below alpha. The test
// choice, the rounds needed and Welch's intervals use alpha / tests, the first
// step's level (the intervals are then simultaneous, Bonferroni's).
// With --metric p99 on one cell there is one test and nothing changes.
// Rounds needed: per side, for the threshold to be detected with 90 %
// probability at alpha given the noise the rounds show (normal
// approximation; for rank, the robust spread 1.4826 x MAD and the U test's
// 3/pi efficiency relative to the t-test, and never below the U test's
// smallest reachable p).
// A candidate cell that failed to run where the baseline ran is a regression.
//
// Fails closed (Comparison::problems): a baseline cell the candidate lacks, a
// candidate cell cut short by a signal, matched cells run with different
// workload parameters (--set) or durations each fail the comparison unless
// CompareOptions accepts that difference. Rounds of one side with identical
// figures (the same file given twice) are copies, not independent rounds:
// they count once.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pb/report/record.h"

namespace pb::report {

// kAuto: rank where the rounds let it reach p < alpha (>= 4 per side at
// 0.05), welch below that.
enum class CompareTest { kAuto, kRank, kWelch };
std::string_view to_string(CompareTest t);

struct CompareOptions {
  std::vector<Metric> metrics{Metric::kP99, Metric::kMax, Metric::kThroughput};
  // When false (the default list), a metric that no cell has is skipped
  // silently; when the user named the metrics, it is an error.
  bool metrics_explicit = false;
  double max_regression_pct = 10;           // for every metric...
  std::map<Metric, double> per_metric_pct;  // ...unless given here
  double alpha = 0.05;
  CompareTest test = CompareTest::kAuto;
  // Holm's correction over every test of the comparison (--correction holm,
  // the default); false: each test at alpha alone (--correction none).
  bool family_wise = true;
  // compare fails closed: each of these differences makes the comparison
  // fail (exit 1) unless accepted here.
  bool allow_missing = false;             // baseline cells the candidate lacks
  bool allow_partial = false;             // candidate cells cut short by a signal
  bool allow_different_params = false;    // workload descriptions/parameters (--set) differ
  bool allow_different_duration = false;  // seconds per cell differ
};

// Parses "--test auto|rank|welch"; false with a message on anything else.
bool parse_test(const std::string& text, CompareOptions* options, std::string* error);

// Parses "--correction holm|none"; false with a message on anything else.
bool parse_correction(const std::string& text, CompareOptions* options, std::string* error);

// Parses "--max-regression": "10%", "10", or "p99=5%,max=20%,10%" (a bare
// value sets the default). False with a message on anything else.
bool parse_max_regression(const std::string& text, CompareOptions* options, std::string* error);

// Parses "--metric p99,max,throughput". False with a message naming the
// unknown metric.
bool parse_metrics(const std::string& text, CompareOptions* options, std::string* error);

enum class Verdict {
  kOk,         // within the threshold
  kImproved,   // better by more than the threshold (and beyond noise)
  kNoise,      // beyond the threshold, but not beyond run-to-run noise
  kRegressed,  // worse beyond the threshold (and beyond noise, with rounds)
  kFailed,     // the candidate cell did not run
  kNoData,     // the metric is unavailable on one side
};
std::string_view to_string(Verdict v);

struct MetricComparison {
  Metric metric = Metric::kP99;
  std::vector<double> baseline, candidate;  // per-round values
  CompareTest test = CompareTest::kWelch;   // the test used (never kAuto)
  // The centre of each side's rounds: the median (rank) or the mean (welch).
  double baseline_centre = 0, candidate_centre = 0;
  std::optional<double> change_pct;  // signed as the metric (+ = larger), nullopt if n/a
  std::optional<double> ci_low_pct, ci_high_pct;  // CI of the change (welch only)
  std::optional<double> p_value;                  // >= 2 rounds per side (rank: >= 1)
  // p_value adjusted for the comparison's other tests (Holm; equal to
  // p_value with one test or --correction none): what the verdict uses.
  std::optional<double> p_adjusted;
  double min_p = 0;  // the smallest p the test can reach with these rounds
  // Rounds per side that would detect a change of threshold_pct at this
  // noise (see above); nullopt with fewer than 2 rounds on a side (no noise
  // estimate) or no change to detect.
  std::optional<size_t> rounds_needed;
  double threshold_pct = 10;
  Verdict verdict = Verdict::kOk;
  std::string why;  // one phrase: "p=0.003", "single round: threshold only", ...
};

struct CellComparison {
  std::string label;  // "" when labels are not part of the match
  std::string model, workload;
  std::optional<double> load;
  std::string baseline_context, candidate_context;  // "kernel, host model" of each side
  size_t baseline_rounds = 0, candidate_rounds = 0;
  std::string candidate_error;  // the candidate's cell failed
  std::vector<MetricComparison> metrics;
};

struct Comparison {
  CompareOptions options;
  std::vector<CellComparison> cells;
  std::vector<std::string> only_in_baseline, only_in_candidate;  // cell names
  std::vector<std::string> notes;
  // The number of tests run (cells x metrics with rounds on both sides): the
  // family Holm's correction is over.
  size_t tests = 0;
  // Each test's level for the test choice, the rounds needed and Welch's
  // intervals: alpha / tests under Holm's correction, else alpha.
  double alpha_each = 0.05;
  // Why the candidate cannot be trusted against the baseline (missing cells,
  // interrupted cells, cells run with other parameters or durations), each
  // naming the option that accepts it. Any makes the comparison fail.
  std::vector<std::string> problems;
  bool regressed() const;  // any kRegressed or kFailed
  bool failed() const { return regressed() || !problems.empty(); }
};

// Compares; false with a message when nothing matches, or when a metric the
// user named is available in no matched cell.
bool compare(const std::vector<Record>& baseline, const std::vector<Record>& candidate,
             const CompareOptions& options, Comparison* out, std::string* error);

// The comparison as a Markdown table plus the list of regressions
// (compare_text.cc).
std::string format_comparison(const Comparison& c);

// "mixed none load 0.5" — a cell's name in messages.
std::string cell_name(const CellComparison& c);

}  // namespace pb::report
