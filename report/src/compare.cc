#include "pb/report/compare.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numbers>
#include <set>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "pb/report/stats.h"

namespace pb::report {

namespace {

// "10%", "10", "2.5 %" -> 10, 10, 2.5.
bool parse_percent(std::string text, double* out) {
  while (!text.empty() && text.back() == ' ') text.pop_back();
  if (!text.empty() && text.back() == '%') text.pop_back();
  if (text.empty() || text.size() > 32) return false;
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  if (used != text.size() || !std::isfinite(v) || v < 0 || v > 1e6) return false;
  *out = v;
  return true;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) break;
    start = at + 1;
  }
  return out;
}

struct CellKey {
  std::string label, model, workload;
  std::optional<double> load;
  auto operator<=>(const CellKey&) const = default;
  bool operator==(const CellKey&) const = default;
};

using Groups = std::map<CellKey, std::vector<const Record*>>;

Groups group(const std::vector<Record>& ms, bool by_label) {
  Groups g;
  for (const Record& m : ms) {
    g[CellKey{by_label ? m.label : "", m.model, m.workload, m.load}].push_back(&m);
  }
  return g;
}

std::string context_of(const std::vector<const Record*>& ms, std::string* mixed) {
  std::set<std::string> seen;
  for (const Record* m : ms) seen.insert(m->kernel + ", " + m->host_model);
  if (seen.size() > 1 && mixed != nullptr) {
    std::string all;
    for (const auto& s : seen) all += (all.empty() ? "" : "; ") + s;
    *mixed = all;
  }
  return seen.size() == 1 ? *seen.begin() : "mixed";
}

// Rounds per side for a two-sided test at `alpha` to detect a shift of
// `delta` with probability `power` when one round's value has standard
// deviation `sd`: 2 (z_{1-alpha/2} + z_power)^2 (sd / delta)^2, rounded up.
std::optional<size_t> rounds_for(double sd, double delta, double alpha, double power) {
  if (!(delta > 0) || !std::isfinite(sd) || sd < 0) return std::nullopt;
  const double z = normal_quantile(1 - alpha / 2) + normal_quantile(power);
  const double n = std::ceil(2 * z * z * (sd / delta) * (sd / delta));
  if (!std::isfinite(n) || n > 1e6) return std::nullopt;
  return std::max<size_t>(2, static_cast<size_t>(n));
}

// The median absolute deviation scaled to a normal's standard deviation.
double robust_sd(const std::vector<double>& v) {
  const double m = median(v);
  std::vector<double> dev;
  dev.reserve(v.size());
  for (double x : v) dev.push_back(std::fabs(x - m));
  return 1.4826 * median(std::move(dev));
}

constexpr double kPower = 0.9;

MetricComparison compare_metric(Metric metric, const std::vector<const Record*>& base,
                                const std::vector<const Record*>& cand, double threshold,
                                const CompareOptions& options) {
  const double alpha = options.alpha;
  MetricComparison mc;
  mc.metric = metric;
  mc.threshold_pct = threshold;
  for (const Record* m : base) {
    if (const auto v = metric_value(*m, metric)) mc.baseline.push_back(*v);
  }
  for (const Record* m : cand) {
    if (const auto v = metric_value(*m, metric)) mc.candidate.push_back(*v);
  }
  if (mc.baseline.empty() || mc.candidate.empty()) {
    mc.verdict = Verdict::kNoData;
    mc.why = mc.baseline.empty() && mc.candidate.empty() ? "n/a on both sides"
             : mc.baseline.empty()                       ? "n/a in the baseline"
                                                         : "n/a in the candidate";
    return mc;
  }
  const size_t nb = mc.baseline.size(), nc = mc.candidate.size();
  mc.test = options.test;
  if (mc.test == CompareTest::kAuto) {
    mc.test = mann_whitney_min_p(nb, nc) < alpha ? CompareTest::kRank : CompareTest::kWelch;
  }
  const bool rank = mc.test == CompareTest::kRank;
  mc.baseline_centre = rank ? median(mc.baseline) : mean(mc.baseline);
  mc.candidate_centre = rank ? median(mc.candidate) : mean(mc.candidate);
  const double b = mc.baseline_centre, c = mc.candidate_centre;
  if (b == 0) {
    mc.change_pct = c == 0 ? 0.0 : std::copysign(std::numeric_limits<double>::infinity(), c);
  } else {
    mc.change_pct = (c - b) / std::fabs(b) * 100.0;
  }
  const double sign = higher_is_better(metric) ? -1 : 1;
  const double worse = sign * *mc.change_pct;  // > 0: worse

  const bool rounds = nb >= 2 && nc >= 2;
  // With rounds on both sides: the p-value, and the rounds needed from the
  // noise both sides show.
  double min_p = 0;  // the smallest p this test can reach with these rounds
  if (rounds) {
    const double delta = threshold / 100 * std::fabs(b);
    if (rank) {
      const auto u = mann_whitney(mc.baseline, mc.candidate);
      if (u) {
        mc.p_value = u->p_value;
        min_p = u->min_p_value;
      }
      const double sd = std::max(robust_sd(mc.baseline), robust_sd(mc.candidate));
      // The U test's efficiency relative to the t-test on normal data is
      // 3/pi; and n per side must let it reach p < alpha at all.
      auto n = rounds_for(sd, delta, alpha, kPower);
      if (n) {
        size_t k = std::max<size_t>(
            2, static_cast<size_t>(std::ceil(static_cast<double>(*n) * std::numbers::pi / 3)));
        while (k < 1000 && mann_whitney_min_p(k, k) >= alpha) ++k;
        mc.rounds_needed = k;
      }
    } else {
      const auto w = welch_test(mc.baseline, mc.candidate, 1 - alpha);
      if (w) {
        mc.p_value = w->p_value;
        if (b != 0) {
          mc.ci_low_pct = w->ci_low / std::fabs(b) * 100.0;
          mc.ci_high_pct = w->ci_high / std::fabs(b) * 100.0;
        }
      }
      const double vb = sample_variance(mc.baseline, mean(mc.baseline));
      const double vc = sample_variance(mc.candidate, mean(mc.candidate));
      mc.rounds_needed = rounds_for(std::sqrt((vb + vc) / 2), delta, alpha, kPower);
    }
  }
  const bool tested = mc.p_value.has_value();
  const bool significant = tested && *mc.p_value < alpha;
  const std::string p_text = tested ? fmt::format("p={:.3g}", *mc.p_value) : "";
  if (worse > threshold) {
    if (!rounds) {
      mc.verdict = Verdict::kRegressed;
      mc.why = "single round: threshold only";
    } else if (significant) {
      mc.verdict = Verdict::kRegressed;
      mc.why = fmt::format("{} < {:g}", p_text, alpha);
    } else {
      mc.verdict = Verdict::kNoise;
      mc.why = min_p >= alpha ? fmt::format("{} rounds per side cannot reach p < {:g} with "
                                            "the rank test (4 can)",
                                            std::min(nb, nc), alpha)
                              : fmt::format("{}: within run-to-run noise", p_text);
    }
  } else if (worse < -threshold) {
    if (!rounds || significant) {
      mc.verdict = Verdict::kImproved;
      mc.why = rounds ? p_text : "single round";
    } else {
      mc.verdict = Verdict::kOk;
      mc.why = fmt::format("{}: improvement within noise", p_text);
    }
  } else {
    mc.verdict = Verdict::kOk;
    mc.why = p_text;
  }
  return mc;
}

}  // namespace

bool parse_max_regression(const std::string& text, CompareOptions* options, std::string* error) {
  CompareOptions o = *options;
  for (const std::string& item : split(text, ',')) {
    const size_t eq = item.find('=');
    double v = 0;
    if (eq == std::string::npos) {
      if (!parse_percent(item, &v)) {
        if (error != nullptr)
          *error = fmt::format("--max-regression: \"{}\" is not a percentage like 10%", item);
        return false;
      }
      o.max_regression_pct = v;
      continue;
    }
    const auto metric = parse_metric(item.substr(0, eq));
    if (!metric) {
      if (error != nullptr)
        *error = fmt::format("--max-regression: unknown metric \"{}\"", item.substr(0, eq));
      return false;
    }
    if (!parse_percent(item.substr(eq + 1), &v)) {
      if (error != nullptr) {
        *error = fmt::format("--max-regression: \"{}\" is not a percentage like 10%",
                             item.substr(eq + 1));
      }
      return false;
    }
    o.per_metric_pct[*metric] = v;
  }
  *options = std::move(o);
  return true;
}

std::string_view to_string(CompareTest t) {
  switch (t) {
    case CompareTest::kAuto:
      return "auto";
    case CompareTest::kRank:
      return "rank";
    case CompareTest::kWelch:
      return "welch";
  }
  return "?";
}

bool parse_test(const std::string& text, CompareOptions* options, std::string* error) {
  if (text == "auto") {
    options->test = CompareTest::kAuto;
  } else if (text == "rank") {
    options->test = CompareTest::kRank;
  } else if (text == "welch") {
    options->test = CompareTest::kWelch;
  } else {
    if (error != nullptr) *error = fmt::format("--test: \"{}\" is not auto, rank or welch", text);
    return false;
  }
  return true;
}

bool parse_metrics(const std::string& text, CompareOptions* options, std::string* error) {
  std::vector<Metric> metrics;
  for (const std::string& item : split(text, ',')) {
    const auto m = parse_metric(item);
    if (!m) {
      if (error != nullptr) {
        *error = fmt::format(
            "--metric: unknown metric \"{}\" (min, p50, p90, p99, p99.9, p99.99, max, "
            "mean, missed, throughput)",
            item);
      }
      return false;
    }
    if (std::find(metrics.begin(), metrics.end(), *m) == metrics.end()) metrics.push_back(*m);
  }
  options->metrics = std::move(metrics);
  options->metrics_explicit = true;
  return true;
}

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kImproved:
      return "improved";
    case Verdict::kNoise:
      return "noise";
    case Verdict::kRegressed:
      return "REGRESSED";
    case Verdict::kFailed:
      return "FAILED";
    case Verdict::kNoData:
      return "n/a";
  }
  return "?";
}

bool Comparison::regressed() const {
  for (const CellComparison& c : cells) {
    if (!c.candidate_error.empty()) return true;
    for (const MetricComparison& m : c.metrics) {
      if (m.verdict == Verdict::kRegressed || m.verdict == Verdict::kFailed) return true;
    }
  }
  return false;
}

std::string cell_name(const CellComparison& c) {
  std::string s = c.workload + " " + c.model;
  if (c.load) s += fmt::format(" load {:g}", *c.load);
  if (!c.label.empty()) s += " on " + c.label;
  return s;
}

bool compare(const std::vector<Record>& baseline, const std::vector<Record>& candidate,
             const CompareOptions& options, Comparison* out, std::string* error) {
  Comparison cmp;
  cmp.options = options;
  std::set<std::string> base_labels, cand_labels;
  for (const auto& m : baseline) base_labels.insert(m.label);
  for (const auto& m : candidate) cand_labels.insert(m.label);
  const bool by_label = base_labels.size() > 1 || cand_labels.size() > 1;
  const Groups base = group(baseline, by_label), cand = group(candidate, by_label);

  std::map<Metric, bool> has_data;
  for (const auto& [key, bms] : base) {
    CellComparison cc;
    cc.label = key.label;
    cc.model = key.model;
    cc.workload = key.workload;
    cc.load = key.load;
    const auto it = cand.find(key);
    if (it == cand.end()) {
      cmp.only_in_baseline.push_back(cell_name(cc));
      continue;
    }
    const auto& cms = it->second;
    std::string mixed;
    cc.baseline_context = context_of(bms, &mixed);
    if (!mixed.empty())
      cmp.notes.push_back(fmt::format("baseline {} mixes {}", cell_name(cc), mixed));
    mixed.clear();
    cc.candidate_context = context_of(cms, &mixed);
    if (!mixed.empty())
      cmp.notes.push_back(fmt::format("candidate {} mixes {}", cell_name(cc), mixed));
    const auto ran = [](const std::vector<const Record*>& v) {
      return static_cast<size_t>(
          std::count_if(v.begin(), v.end(), [](const Record* m) { return m->error.empty(); }));
    };
    cc.baseline_rounds = ran(bms);
    cc.candidate_rounds = ran(cms);
    for (const Record* m : cms) {
      if (!m->error.empty() && cc.baseline_rounds > 0) {
        cc.candidate_error = m->error;
        break;
      }
    }
    if (cc.baseline_rounds == 0)
      cmp.notes.push_back(fmt::format("baseline {} did not run", cell_name(cc)));
    for (const Metric metric : options.metrics) {
      const auto t = options.per_metric_pct.find(metric);
      const double threshold =
          t != options.per_metric_pct.end() ? t->second : options.max_regression_pct;
      MetricComparison mc = compare_metric(metric, bms, cms, threshold, options);
      if (mc.verdict != Verdict::kNoData) has_data[metric] = true;
      cc.metrics.push_back(std::move(mc));
    }
    cmp.cells.push_back(std::move(cc));
  }
  for (const auto& [key, cms] : cand) {
    if (base.find(key) != base.end()) continue;
    CellComparison cc;
    cc.label = key.label;
    cc.model = key.model;
    cc.workload = key.workload;
    cc.load = key.load;
    cmp.only_in_candidate.push_back(cell_name(cc));
  }
  if (cmp.cells.empty()) {
    if (error != nullptr) {
      *error =
          "no cell is in both the baseline and the candidate (cells match on emulated model, "
          "workload and load" +
          std::string(by_label ? ", and machine label" : "") + ")";
    }
    return false;
  }
  // Metrics nobody has: an error when asked for by name, else dropped.
  std::vector<Metric> missing;
  for (const Metric m : options.metrics) {
    if (!has_data[m]) missing.push_back(m);
  }
  if (!missing.empty()) {
    if (options.metrics_explicit) {
      if (error != nullptr) {
        *error = fmt::format("--metric {}: not available in any cell present on both sides",
                             metric_name(missing.front()));
      }
      return false;
    }
    for (CellComparison& cc : cmp.cells) {
      std::erase_if(cc.metrics, [&](const MetricComparison& mc) {
        return std::find(missing.begin(), missing.end(), mc.metric) != missing.end();
      });
    }
    for (const Metric m : missing) {
      cmp.notes.push_back(fmt::format("{}: not in these results, not compared", metric_name(m)));
    }
  }
  *out = std::move(cmp);
  return true;
}

}  // namespace pb::report
