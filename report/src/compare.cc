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
#include <nlohmann/json.hpp>

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

// The smallest number of rounds per side with which the exact rank test can
// give p < `level` at all.
size_t rank_rounds_for(double level) {
  size_t k = 2;
  while (k < 1000 && mann_whitney_min_p(k, k) >= level) ++k;
  return k;
}

// The per-round values of one metric on one side (rounds without it left out).
std::vector<double> values_of_metric(const std::vector<const Record*>& rounds, Metric metric) {
  std::vector<double> out;
  for (const Record* m : rounds) {
    if (const auto v = metric_value(*m, metric)) out.push_back(*v);
  }
  return out;
}

// Everything about one metric of one cell but the verdict: the values, the
// test (kAuto chooses at `alpha`), the centres, the change, the p-value and
// the rounds needed at `alpha`, and Welch's interval at 1 - alpha. The
// caller passes alpha / tests when the comparison corrects for its number of
// tests (then the intervals are simultaneous, Bonferroni's).
MetricComparison measure_metric(Metric metric, const std::vector<const Record*>& base,
                                const std::vector<const Record*>& cand, double threshold,
                                CompareTest test, double alpha) {
  MetricComparison mc;
  mc.metric = metric;
  mc.threshold_pct = threshold;
  mc.baseline = values_of_metric(base, metric);
  mc.candidate = values_of_metric(cand, metric);
  if (mc.baseline.empty() || mc.candidate.empty()) {
    mc.verdict = Verdict::kNoData;
    mc.why = mc.baseline.empty() && mc.candidate.empty() ? "n/a on both sides"
             : mc.baseline.empty()                       ? "n/a in the baseline"
                                                         : "n/a in the candidate";
    return mc;
  }
  const size_t nb = mc.baseline.size(), nc = mc.candidate.size();
  mc.test = test;
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
  // With rounds on both sides: the p-value, and the rounds needed from the
  // noise both sides show.
  if (nb >= 2 && nc >= 2) {
    const double delta = threshold / 100 * std::fabs(b);
    if (rank) {
      const auto u = mann_whitney(mc.baseline, mc.candidate);
      if (u) {
        mc.p_value = u->p_value;
        mc.min_p = u->min_p_value;
      }
      const double sd = std::max(robust_sd(mc.baseline), robust_sd(mc.candidate));
      // The U test's efficiency relative to the t-test on normal data is
      // 3/pi; and n per side must let it reach p < alpha at all.
      auto n = rounds_for(sd, delta, alpha, kPower);
      if (n) {
        size_t k = std::max<size_t>(
            2, static_cast<size_t>(std::ceil(static_cast<double>(*n) * std::numbers::pi / 3)));
        mc.rounds_needed = std::max(k, rank_rounds_for(alpha));
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
  return mc;
}

// The verdict of a measured metric (measure_metric()), from its change, its
// threshold and mc.p_adjusted against `alpha`. `tests`: the comparison's
// number of tests (the adjusted p is named when it differs from p);
// `alpha_each`: Holm's first-step level, alpha / tests (alpha without the
// correction).
void decide(MetricComparison& mc, double alpha, double alpha_each, size_t tests) {
  if (mc.verdict == Verdict::kNoData) return;
  const double threshold = mc.threshold_pct;
  const double worse = (higher_is_better(mc.metric) ? -1 : 1) * *mc.change_pct;  // > 0: worse
  const size_t nb = mc.baseline.size(), nc = mc.candidate.size();
  const bool rounds = nb >= 2 && nc >= 2;
  const bool tested = mc.p_adjusted.has_value();
  const bool significant = tested && *mc.p_adjusted < alpha;
  std::string p_text;
  if (tested) {
    p_text = fmt::format("p={:.3g}", *mc.p_value);
    if (*mc.p_adjusted != *mc.p_value)
      p_text += fmt::format(", Holm-adjusted over {} tests {:.3g}", tests, *mc.p_adjusted);
  }
  if (worse > threshold) {
    if (!rounds) {
      mc.verdict = Verdict::kRegressed;
      mc.why = "single round: threshold only";
    } else if (significant) {
      mc.verdict = Verdict::kRegressed;
      mc.why = fmt::format("{} < {:g}", p_text, alpha);
    } else {
      mc.verdict = Verdict::kNoise;
      if (mc.test == CompareTest::kRank && mc.min_p >= alpha_each) {
        // No outcome of these rounds can pass: the test's smallest p is not
        // below the level every test must meet first.
        mc.why =
            alpha_each < alpha
                ? fmt::format(
                      "{} rounds per side: the rank test's smallest p ({:.3g}) is not "
                      "below alpha / {} tests ({:.3g}), Holm's first step; {} can",
                      std::min(nb, nc), mc.min_p, tests, alpha_each, rank_rounds_for(alpha_each))
                : fmt::format(
                      "{} rounds per side cannot reach p < {:g} with the rank test "
                      "({} can)",
                      std::min(nb, nc), alpha, rank_rounds_for(alpha));
      } else {
        mc.why = fmt::format("{}: within run-to-run noise", p_text);
      }
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
}

// Holm's step-down adjustment of the tested metrics' p-values (each
// p_adjusted set; untested ones keep none): the i-th smallest of m p-values
// becomes max over j <= i of min(1, (m - j + 1) p_(j)), so that comparing the
// adjusted p with alpha is Holm's procedure at family-wise level alpha.
// `family`: the number of tests the comparison counts (>= tested.size()).
void holm_adjust(std::vector<MetricComparison*>& tested, size_t family) {
  std::stable_sort(tested.begin(), tested.end(),
                   [](const MetricComparison* a, const MetricComparison* b) {
                     return *a->p_value < *b->p_value;
                   });
  const size_t m = std::max(family, tested.size());
  double running = 0;
  for (size_t i = 0; i < tested.size(); ++i) {
    running = std::max(running, std::min(1.0, static_cast<double>(m - i) * *tested[i]->p_value));
    tested[i]->p_adjusted = running;
  }
}

// --- completeness and matching (fail closed) ------------------------------------------
// Kept apart from the statistics above: these decide whether the two sides
// may be compared at all.

bool same_figures(const Record& a, const Record& b) {
  return a.error.empty() && b.error.empty() && a.count == b.count && a.min_ns == b.min_ns &&
         a.max_ns == b.max_ns && a.mean_ns == b.mean_ns && a.missed == b.missed &&
         a.ops_per_s == b.ops_per_s && a.has_histogram == b.has_histogram &&
         (!a.has_histogram || a.histogram == b.histogram);
}

// Rounds of one cell whose figures are identical to an earlier round's are
// copies (the same file given twice, or a simulated run repeated with its
// seed): they count once, with a note, so no t-test runs on copies.
void drop_copies(Groups& groups, const char* side, std::vector<std::string>& notes) {
  for (auto& [key, rounds] : groups) {
    std::vector<const Record*> distinct;
    size_t copies = 0;
    for (const Record* m : rounds) {
      const bool copy = std::any_of(distinct.begin(), distinct.end(),
                                    [&](const Record* d) { return same_figures(*d, *m); });
      if (copy) {
        ++copies;
      } else {
        distinct.push_back(m);
      }
    }
    if (copies == 0) continue;
    CellComparison named;
    named.label = key.label;
    named.model = key.model;
    named.workload = key.workload;
    named.load = key.load;
    notes.push_back(fmt::format(
        "{} {}: {} of {} rounds have figures identical to another round's (the same result "
        "given twice?): not independent rounds, counted once",
        side, cell_name(named), copies, rounds.size()));
    rounds = std::move(distinct);
  }
}

// "irq_rate_hz 1900 -> 40000; handler_us 10 -> 1", from two descriptions'
// "params"; "the descriptions differ" when the params agree.
std::string description_difference(const std::string& base, const std::string& cand) {
  const auto params = [](const std::string& text) {
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_object()) {
      const auto p = j.find("params");
      if (p != j.end() && p->is_object()) return *p;
    }
    return nlohmann::json::object();
  };
  const nlohmann::json b = params(base), c = params(cand);
  std::string out;
  std::set<std::string> keys;
  for (const auto& [k, v] : b.items()) keys.insert(k);
  for (const auto& [k, v] : c.items()) keys.insert(k);
  for (const std::string& k : keys) {
    const std::string bv = b.contains(k) ? b[k].dump() : "(none)";
    const std::string cv = c.contains(k) ? c[k].dump() : "(none)";
    if (bv != cv) out += fmt::format("{}{} {} -> {}", out.empty() ? "" : "; ", k, bv, cv);
  }
  return out.empty() ? "the workload descriptions differ" : out;
}

template <typename T, typename Get>
std::set<T> values_of(const std::vector<const Record*>& ms, Get get) {
  std::set<T> out;
  for (const Record* m : ms) {
    if (const auto v = get(*m)) out.insert(*v);
  }
  return out;
}

// A matched cell: interrupted candidate rounds, and baseline and candidate
// run with different workload parameters or durations.
void check_cell(const std::vector<const Record*>& base, const std::vector<const Record*>& cand,
                const CompareOptions& options, const std::string& name, Comparison& cmp) {
  const size_t cut = static_cast<size_t>(
      std::count_if(cand.begin(), cand.end(), [](const Record* m) { return m->interrupted; }));
  if (cut > 0) {
    const std::string what =
        fmt::format("candidate {}: {} of {} rounds were interrupted (measured less than planned)",
                    name, cut, cand.size());
    if (options.allow_partial) {
      cmp.notes.push_back(what + " (accepted: --allow-partial)");
    } else {
      cmp.problems.push_back(what + " (--allow-partial accepts it)");
    }
  }
  if (std::any_of(base.begin(), base.end(), [](const Record* m) { return m->interrupted; })) {
    cmp.notes.push_back(fmt::format("baseline {}: has interrupted rounds", name));
  }
  using Text = std::optional<std::string>;
  const auto desc = [](const Record& m) {
    return m.workload_description.empty() ? Text() : Text(m.workload_description);
  };
  const auto bd = values_of<std::string>(base, desc), cd = values_of<std::string>(cand, desc);
  if (!bd.empty() && !cd.empty() && bd != cd) {
    const std::string what = fmt::format("{}: run with different workload parameters ({})", name,
                                         description_difference(*bd.begin(), *cd.begin()));
    if (options.allow_different_params) {
      cmp.notes.push_back(what + " (accepted: --allow-different-params)");
    } else {
      cmp.problems.push_back(what + " (--allow-different-params accepts it)");
    }
  }
  const auto dur = [](const Record& m) { return m.duration_s; };
  const auto bs = values_of<double>(base, dur), cs = values_of<double>(cand, dur);
  if (!bs.empty() && !cs.empty() && bs != cs) {
    const auto list = [](const std::set<double>& v) {
      std::string out;
      for (double d : v) out += fmt::format("{}{:g} s", out.empty() ? "" : ", ", d);
      return out;
    };
    const std::string what = fmt::format("{}: run with different durations per cell ({} -> {})",
                                         name, list(bs), list(cs));
    if (options.allow_different_duration) {
      cmp.notes.push_back(what + " (accepted: --allow-different-duration)");
    } else {
      cmp.problems.push_back(what + " (--allow-different-duration accepts it)");
    }
  }
}

// Baseline cells the candidate lacks, and partial candidate files.
void check_completeness(const std::vector<Record>& candidate, const CompareOptions& options,
                        Comparison& cmp) {
  if (!cmp.only_in_baseline.empty()) {
    std::string names;
    for (size_t i = 0; i < cmp.only_in_baseline.size() && i < 5; ++i)
      names += (i ? ", " : "") + cmp.only_in_baseline[i];
    if (cmp.only_in_baseline.size() > 5)
      names += fmt::format(" and {} more", cmp.only_in_baseline.size() - 5);
    const std::string what = fmt::format("the candidate lacks {} cell(s) the baseline has: {}",
                                         cmp.only_in_baseline.size(), names);
    if (options.allow_missing) {
      cmp.notes.push_back(what + " (accepted: --allow-missing)");
    } else {
      cmp.problems.push_back(what + " (--allow-missing accepts it)");
    }
  }
  std::set<std::string> partial;
  for (const Record& m : candidate) {
    if (!m.partial.empty()) partial.insert(m.source + " is " + m.partial);
  }
  for (const std::string& p : partial) cmp.notes.push_back("candidate " + p);
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

bool parse_correction(const std::string& text, CompareOptions* options, std::string* error) {
  if (text == "holm") {
    options->family_wise = true;
  } else if (text == "none") {
    options->family_wise = false;
  } else {
    if (error != nullptr) *error = fmt::format("--correction: \"{}\" is not holm or none", text);
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
  Groups base = group(baseline, by_label), cand = group(candidate, by_label);
  drop_copies(base, "baseline", cmp.notes);
  drop_copies(cand, "candidate", cmp.notes);

  // The family: one test per matched cell and metric with >= 2 rounds a side.
  size_t tests = 0;
  for (const auto& [key, bms] : base) {
    const auto it = cand.find(key);
    if (it == cand.end()) continue;
    for (const Metric metric : options.metrics) {
      if (values_of_metric(bms, metric).size() >= 2 &&
          values_of_metric(it->second, metric).size() >= 2)
        ++tests;
    }
  }
  const double alpha_each =
      options.family_wise && tests > 1 ? options.alpha / static_cast<double>(tests) : options.alpha;

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
    check_cell(bms, cms, options, cell_name(cc), cmp);
    for (const Metric metric : options.metrics) {
      const auto t = options.per_metric_pct.find(metric);
      const double threshold =
          t != options.per_metric_pct.end() ? t->second : options.max_regression_pct;
      MetricComparison mc = measure_metric(metric, bms, cms, threshold, options.test, alpha_each);
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
  check_completeness(candidate, options, cmp);
  std::vector<MetricComparison*> tested;
  for (CellComparison& cc : cmp.cells) {
    for (MetricComparison& mc : cc.metrics) {
      if (!mc.p_value) continue;
      mc.p_adjusted = mc.p_value;
      tested.push_back(&mc);
    }
  }
  // The family counted above (a test whose values are not finite gives no
  // p; it still counted for alpha_each, and counts here: conservative).
  cmp.tests = tests;
  cmp.alpha_each = alpha_each;
  if (options.family_wise) holm_adjust(tested, tests);
  for (CellComparison& cc : cmp.cells) {
    for (MetricComparison& mc : cc.metrics) decide(mc, options.alpha, alpha_each, cmp.tests);
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
