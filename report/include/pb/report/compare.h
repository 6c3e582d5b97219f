// `preemptbench compare`: per cell and metric, the change from a baseline to
// a candidate and whether it is beyond the allowed regression and beyond
// run-to-run noise.
//
// Cells are matched on emulated model, workload and load — and on the machine
// label too when either side holds more than one label (a fleet run); kernel
// and host model are what a tuning change alters, so they never take part.
//
// Method, per cell and metric, on the per-round values (one value per round:
// a run's round, or one result file):
//   change = (mean(candidate) - mean(baseline)) / mean(baseline), signed so
//            that positive is worse (throughput: a drop).
//   With >= 2 rounds on both sides, Welch's t-test on the rounds: the change
//   is a regression when it exceeds the threshold AND p < alpha (default
//   0.05); beyond the threshold with p >= alpha it is reported as noise. The
//   (1 - alpha) confidence interval of the change is printed.
//   With 1 round on either side there is no noise estimate: the threshold
//   alone decides (reported as such).
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

struct CompareOptions {
  std::vector<Metric> metrics{Metric::kP99, Metric::kMax, Metric::kThroughput};
  // When false (the default list), a metric that no cell has is skipped
  // silently; when the user named the metrics, it is an error.
  bool metrics_explicit = false;
  double max_regression_pct = 10;           // for every metric...
  std::map<Metric, double> per_metric_pct;  // ...unless given here
  double alpha = 0.05;
  // compare fails closed: each of these differences makes the comparison
  // fail (exit 1) unless accepted here.
  bool allow_missing = false;             // baseline cells the candidate lacks
  bool allow_partial = false;             // candidate cells cut short by a signal
  bool allow_different_params = false;    // workload descriptions/parameters (--set) differ
  bool allow_different_duration = false;  // seconds per cell differ
};

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
  double baseline_mean = 0, candidate_mean = 0;
  std::optional<double> change_pct;  // signed as the metric (+ = larger), nullopt if n/a
  std::optional<double> ci_low_pct, ci_high_pct;  // CI of the change (Welch only)
  std::optional<double> p_value;                  // Welch only
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
