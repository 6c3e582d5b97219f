// compare's output: a Markdown table of every cell and metric, then the
// verdict — the regressions, one line each — for a CI log.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>

#include <fmt/format.h>

#include "pb/report/compare.h"
#include "pb/report/escape.h"
#include "pb/report/format.h"

namespace pb::report {

namespace {

std::string value_text(Metric m, double v) {
  if (m == Metric::kThroughput) return format_rate(v);
  if (m == Metric::kMissed) return fmt::format("{:.0f}", v);
  return format_us(v);
}

std::string unit_of(Metric m) {
  if (m == Metric::kThroughput) return "ops/s";
  if (m == Metric::kMissed) return "periods";
  return "µs";
}

}  // namespace

std::string format_comparison(const Comparison& c) {
  const auto md = markdown_escape;
  std::ostringstream o;
  // The columns: a centre per metric row (mean or median, as its test), and
  // the CI column when any row used Welch's test.
  bool welch = false, rank = false;
  for (const CellComparison& cell : c.cells) {
    for (const MetricComparison& m : cell.metrics) {
      if (m.verdict == Verdict::kNoData) continue;
      (m.test == CompareTest::kWelch ? welch : rank) = true;
    }
  }
  const char* centre = welch && rank ? "mean/median" : welch ? "mean" : "median";
  // Welch's intervals are at 1 - alpha_each (simultaneous under Holm's
  // correction): "95% CI", "98.3% CI".
  const double ci = std::round((1 - c.alpha_each) * 1000) / 10;
  o << "| cell | metric | baseline " << centre << " | candidate " << centre << " | change | ";
  if (welch) o << fmt::format("{:g}% CI | ", ci);
  o << "rounds | rounds needed | verdict | |\n";
  o << "|---|---|---:|---:|---:|" << (welch ? "---:|" : "") << "---:|---:|---|---|\n";
  for (const CellComparison& cell : c.cells) {
    const std::string name = md(cell_name(cell));
    const std::string rounds = fmt::format("{}/{}", cell.baseline_rounds, cell.candidate_rounds);
    if (!cell.candidate_error.empty()) {
      o << "| " << name << " | (cell) | ran | failed | | " << (welch ? "| " : "") << rounds
        << " | | FAILED | " << md(cell.candidate_error) << " |\n";
    }
    for (const MetricComparison& m : cell.metrics) {
      const std::string metric = fmt::format("{} ({})", metric_name(m.metric), unit_of(m.metric));
      if (m.verdict == Verdict::kNoData) {
        o << "| " << name << " | " << metric << " | | | | " << (welch ? "| " : "") << rounds
          << " | | n/a | " << m.why << " |\n";
        continue;
      }
      std::string ci_text;
      if (m.ci_low_pct && m.ci_high_pct) {
        ci_text =
            fmt::format("[{}, {}]", format_change(m.ci_low_pct), format_change(m.ci_high_pct));
      }
      o << "| " << name << " | " << metric << " | " << value_text(m.metric, m.baseline_centre)
        << " | " << value_text(m.metric, m.candidate_centre) << " | " << format_change(m.change_pct)
        << " | ";
      if (welch) o << ci_text << " | ";
      o << rounds << " | " << (m.rounds_needed ? fmt::format("{}", *m.rounds_needed) : "") << " | "
        << to_string(m.verdict) << " | " << md(m.why) << " |\n";
    }
  }
  o << '\n';
  for (const std::string& n : c.only_in_baseline) o << "note: only in the baseline: " << n << '\n';
  for (const std::string& n : c.only_in_candidate)
    o << "note: only in the candidate: " << n << '\n';
  for (const std::string& n : c.notes) o << "note: " << n << '\n';

  // The rounds the noisiest cell needs for the thresholds asked for.
  size_t needed = 0, have = SIZE_MAX;
  std::string needed_by;
  for (const CellComparison& cell : c.cells) {
    for (const MetricComparison& m : cell.metrics) {
      if (m.rounds_needed && *m.rounds_needed > needed) {
        needed = *m.rounds_needed;
        needed_by =
            fmt::format("{} {} ({:g}%)", cell_name(cell), metric_name(m.metric), m.threshold_pct);
      }
    }
    have = std::min({have, cell.baseline_rounds, cell.candidate_rounds});
  }
  o << "test: ";
  if (rank) o << "Mann-Whitney U on the rounds (medians)";
  if (rank && welch) o << " where each side has the rounds for it, else ";
  if (welch) o << "Welch's t on the rounds (means)";
  o << ", alpha " << fmt::format("{:g}", c.options.alpha);
  if (c.tests > 1 && c.options.family_wise) {
    o << fmt::format(" for the whole comparison: Holm's adjustment over its {} tests", c.tests);
  } else if (c.tests > 1) {
    o << fmt::format(" per test, {} tests (--correction none)", c.tests);
  }
  o << '\n';
  if (needed > 0) {
    o << fmt::format(
        "rounds needed: {} per side to detect the threshold with 90% probability at the noise "
        "these rounds show (the most: {}); this comparison has {}\n",
        needed, needed_by, have);
  }

  std::vector<std::string> bad;
  for (const CellComparison& cell : c.cells) {
    if (!cell.candidate_error.empty()) {
      bad.push_back(
          fmt::format("{}: the candidate cell failed: {}", cell_name(cell), cell.candidate_error));
    }
    for (const MetricComparison& m : cell.metrics) {
      if (m.verdict != Verdict::kRegressed) continue;
      const char* direction = higher_is_better(m.metric) ? "lower" : "higher";
      bad.push_back(fmt::format("{}: {} {} -> {} {} ({}, {}; limit {:g}%; {})", cell_name(cell),
                                metric_name(m.metric), value_text(m.metric, m.baseline_centre),
                                value_text(m.metric, m.candidate_centre), unit_of(m.metric),
                                format_change(m.change_pct), direction, m.threshold_pct, m.why));
    }
  }
  if (bad.empty()) {
    o << "compare: no regression beyond the thresholds in " << c.cells.size() << " cell(s)\n";
  } else {
    o << "compare: " << bad.size() << " regression(s):\n";
    for (const std::string& b : bad) o << "  " << b << '\n';
  }
  if (!c.problems.empty()) {
    o << "compare: FAILED CLOSED, the candidate is incomplete or does not match the baseline ("
      << c.problems.size() << " problem(s)):\n";
    for (const std::string& p : c.problems) o << "  " << p << '\n';
  }
  return o.str();
}

}  // namespace pb::report
