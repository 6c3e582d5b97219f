// compare's output: a Markdown table of every cell and metric, then the
// verdict — the regressions, one line each — for a CI log.
#include <cmath>
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
  const int ci = static_cast<int>(std::lround((1 - c.options.alpha) * 100));
  o << "| cell | metric | baseline | candidate | change | " << ci
    << "% CI | rounds | verdict | |\n";
  o << "|---|---|---:|---:|---:|---:|---:|---|---|\n";
  for (const CellComparison& cell : c.cells) {
    const std::string name = md(cell_name(cell));
    const std::string rounds = fmt::format("{}/{}", cell.baseline_rounds, cell.candidate_rounds);
    if (!cell.candidate_error.empty()) {
      o << "| " << name << " | (cell) | ran | failed | | | " << rounds << " | FAILED | "
        << md(cell.candidate_error) << " |\n";
    }
    for (const MetricComparison& m : cell.metrics) {
      const std::string metric = fmt::format("{} ({})", metric_name(m.metric), unit_of(m.metric));
      if (m.verdict == Verdict::kNoData) {
        o << "| " << name << " | " << metric << " | | | | | " << rounds << " | n/a | " << m.why
          << " |\n";
        continue;
      }
      std::string ci_text;
      if (m.ci_low_pct && m.ci_high_pct) {
        ci_text =
            fmt::format("[{}, {}]", format_change(m.ci_low_pct), format_change(m.ci_high_pct));
      }
      o << "| " << name << " | " << metric << " | " << value_text(m.metric, m.baseline_mean)
        << " | " << value_text(m.metric, m.candidate_mean) << " | " << format_change(m.change_pct)
        << " | " << ci_text << " | " << rounds << " | " << to_string(m.verdict) << " | "
        << md(m.why) << " |\n";
    }
  }
  o << '\n';
  for (const std::string& n : c.only_in_baseline) o << "note: only in the baseline: " << n << '\n';
  for (const std::string& n : c.only_in_candidate)
    o << "note: only in the candidate: " << n << '\n';
  for (const std::string& n : c.notes) o << "note: " << n << '\n';

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
                                metric_name(m.metric), value_text(m.metric, m.baseline_mean),
                                value_text(m.metric, m.candidate_mean), unit_of(m.metric),
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
