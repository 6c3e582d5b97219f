#include "pb/report/table.h"

#include <algorithm>
#include <array>
#include <map>
#include <numeric>
#include <set>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "pb/report/format.h"
#include "pb/report/stats.h"

namespace pb::report {

RowKey key_of(const Record& m) {
  return RowKey{m.label, m.kernel, m.host_model, m.model, m.workload, m.load};
}

namespace {

int model_rank(const std::string& model) {
  static const char* const kOrder[] = {"none", "voluntary", "full", "lazy", "rt", "host"};
  for (int i = 0; i < 6; ++i) {
    if (model.rfind(kOrder[i], 0) == 0) return i;
  }
  return 6;
}

}  // namespace

bool table_order(const RowKey& a, const RowKey& b) {
  const auto ka = std::tie(a.label, a.kernel, a.host_model, a.workload);
  const auto kb = std::tie(b.label, b.kernel, b.host_model, b.workload);
  if (ka != kb) return ka < kb;
  if (a.load != b.load) return a.load < b.load;
  const int ra = model_rank(a.model), rb = model_rank(b.model);
  if (ra != rb) return ra < rb;
  return a.model < b.model;
}

std::optional<double> metric_value(const Row& r, Metric metric) {
  if (r.count == 0) return std::nullopt;
  if (const auto p = metric_percentile(metric)) {
    if (!r.has_histogram) return std::nullopt;
    const auto v = bounded_percentile(r.histogram, r.ceiling_ns, r.resolution_ns, *p);
    return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
  }
  switch (metric) {
    case Metric::kMin:
      return static_cast<double>(r.min_ns);
    case Metric::kMax:
      return static_cast<double>(r.max_ns);
    case Metric::kMean:
      return r.mean_ns;
    case Metric::kMissed:
      return r.missed ? std::optional<double>(static_cast<double>(*r.missed)) : std::nullopt;
    case Metric::kThroughput:
      return r.ops_per_s;
    default:
      return std::nullopt;
  }
}

namespace {

constexpr std::array<const char*, 6> kFields = {"label", "kernel",   "host_model",
                                                "model", "workload", "load"};

// The key field `f` as text ("" for a load that is not there).
std::string field(const RowKey& k, std::string_view f) {
  if (f == "label") return k.label;
  if (f == "kernel") return k.kernel;
  if (f == "host_model") return k.host_model;
  if (f == "model") return k.model;
  if (f == "workload") return k.workload;
  if (f == "load") return k.load ? fmt::format("{:g}", *k.load) : "";
  return "";
}

void aggregate(const std::vector<Record>& ms, Row* r) {
  double mean_sum = 0, ops_sum = 0;
  size_t ran = 0, with_ops = 0;
  bool all_hist = true, all_missed = true;
  uint64_t missed = 0;
  std::vector<double> p99s;
  for (const size_t i : r->rounds) {
    const Record& m = ms[i];
    if (m.interrupted) ++r->interrupted;
    if (!m.error.empty()) {
      if (r->failed++ == 0) r->first_error = m.error;
      continue;
    }
    if (const auto p99 = metric_value(m, Metric::kP99)) p99s.push_back(*p99);
    if (m.host_stolen_pct) {
      r->host_stolen_pct_max = std::max(r->host_stolen_pct_max.value_or(0), *m.host_stolen_pct);
    }
    r->resolution_ns =
        ran++ == 0 ? m.resolution_ns : (r->resolution_ns == m.resolution_ns ? m.resolution_ns : 1);
    if (m.ops_per_s) {
      ops_sum += *m.ops_per_s;
      ++with_ops;
    }
    if (m.missed) {
      missed += *m.missed;
    } else {
      all_missed = false;
    }
    if (m.count == 0) continue;
    r->min_ns = r->count == 0 ? m.min_ns : std::min(r->min_ns, m.min_ns);
    r->max_ns = std::max(r->max_ns, m.max_ns);
    r->count += m.count;
    mean_sum += m.mean_ns * static_cast<double>(m.count);
    if (m.has_histogram) {
      r->histogram.merge(m.histogram);
      if (m.ceiling_ns > 0)
        r->ceiling_ns = r->ceiling_ns == 0 ? m.ceiling_ns : std::min(r->ceiling_ns, m.ceiling_ns);
    } else {
      all_hist = false;
    }
  }
  r->has_histogram = r->count > 0 && all_hist;
  r->mean_ns = r->count > 0 ? mean_sum / static_cast<double>(r->count) : 0;
  if (ran > 0 && all_missed) r->missed = missed;
  if (with_ops > 0) r->ops_per_s = ops_sum / static_cast<double>(with_ops);
  if (p99s.size() >= 2) {
    r->p99_round_median = median(p99s);
    r->p99_round_min = *std::min_element(p99s.begin(), p99s.end());
    r->p99_round_max = *std::max_element(p99s.begin(), p99s.end());
  }
}

}  // namespace

bool parse_reference(const std::string& text, ReferenceSelector* out, std::string* error) {
  ReferenceSelector s;
  const size_t eq = text.find('=');
  if (eq == std::string::npos) {
    s.field = "label";
    s.value = text;
  } else {
    s.field = text.substr(0, eq);
    s.value = text.substr(eq + 1);
    if (s.field == "host-model") s.field = "host_model";
    if (std::find_if(kFields.begin(), kFields.end(), [&](const char* f) { return s.field == f; }) ==
        kFields.end()) {
      if (error != nullptr) {
        *error = fmt::format(
            "--reference: unknown field \"{}\" (label, kernel, host_model, model, "
            "workload or load)",
            s.field);
      }
      return false;
    }
  }
  if (s.value.empty()) {
    if (error != nullptr) *error = "--reference: empty value";
    return false;
  }
  *out = std::move(s);
  return true;
}

bool build_table(std::vector<Record> records, const std::optional<ReferenceSelector>& reference,
                 Table* out, std::string* error) {
  Table t;
  t.records = std::move(records);
  t.reference = reference;
  std::map<RowKey, std::vector<size_t>> groups;
  for (size_t i = 0; i < t.records.size(); ++i) groups[key_of(t.records[i])].push_back(i);
  for (auto& [key, idx] : groups) {
    Row r;
    r.key = key;
    r.rounds = std::move(idx);
    aggregate(t.records, &r);
    t.rows.push_back(std::move(r));
  }
  std::stable_sort(t.rows.begin(), t.rows.end(),
                   [](const Row& a, const Row& b) { return table_order(a.key, b.key); });

  // Notes for the reader, each said once.
  std::set<std::string> partial_sources;
  for (const Record& m : t.records) {
    if (!m.partial.empty()) partial_sources.insert(m.source + ": " + m.partial);
  }
  for (const std::string& p : partial_sources) t.notes.push_back("PARTIAL " + p);
  size_t clipped = 0, no_hist = 0, no_missed = 0;
  for (const Row& r : t.rows) {
    if (r.interrupted > 0) {
      t.notes.push_back(fmt::format(
          "{} {}{} on {}: {} of {} rounds were interrupted (measured less than planned)",
          r.key.workload, r.key.model, r.key.load ? fmt::format(" load {:g}", *r.key.load) : "",
          r.key.label, r.interrupted, r.rounds.size()));
    }
    if (r.count == 0 && r.failed < r.rounds.size()) {
      t.notes.push_back(
          fmt::format("{} {}{} on {}: no samples (no wakeup measured)", r.key.workload, r.key.model,
                      r.key.load ? fmt::format(" load {:g}", *r.key.load) : "", r.key.label));
    }
    if (r.failed > 0) {
      t.notes.push_back(fmt::format("{} {}{} on {}: {} of {} rounds did not run ({})",
                                    r.key.workload, r.key.model,
                                    r.key.load ? fmt::format(" load {:g}", *r.key.load) : "",
                                    r.key.label, r.failed, r.rounds.size(), r.first_error));
    }
    if (r.count == 0) continue;
    if (!r.has_histogram) ++no_hist;
    if (r.has_histogram && r.ceiling_ns > 0 && r.histogram.percentile(99.99) >= r.ceiling_ns)
      ++clipped;
    if (!r.missed) ++no_missed;
  }
  size_t stolen = 0;
  for (const Row& r : t.rows) stolen += r.host_stolen_pct_max.value_or(0) >= kStolenMarkPct;
  if (stolen > 0) {
    t.notes.push_back(fmt::format(
        "† {} row(s) had a round where the host did not run a vCPU that had work for at least "
        "{:g}% of the time (steal, another real-time thread, throttling): their latencies include "
        "the host's stalls",
        stolen, kStolenMarkPct));
  }
  if (clipped > 0) {
    t.notes.push_back(fmt::format(
        "{} row(s) have wakeups beyond cyclictest's -h histogram range: percentiles there are only "
        "known to be at least the range (shown as ≥N) and are left out of comparisons",
        clipped));
  }
  if (no_hist > 0) {
    t.notes.push_back(
        fmt::format("{} row(s) have no latency histogram (cyclictest --json without -h, or a mix "
                    "of rounds with "
                    "and without): min, mean and max only",
                    no_hist));
  }
  if (no_missed > 0) {
    t.notes.push_back(
        fmt::format("{} row(s) come from rt-tests' cyclictest, which skips missed periods without "
                    "counting them "
                    "(missed: n/a)",
                    no_missed));
  }

  if (reference) {
    const std::string& f = reference->field;
    bool any = false;
    for (const Row& r : t.rows) any = any || field(r.key, f) == reference->value;
    if (!any) {
      if (error != nullptr) {
        *error = fmt::format("--reference: no row has {} \"{}\"", f, reference->value);
      }
      return false;
    }
    size_t without = 0;
    for (Row& r : t.rows) {
      int best_score = -1;
      for (size_t j = 0; j < t.rows.size(); ++j) {
        const RowKey& c = t.rows[j].key;
        if (field(c, f) != reference->value) continue;
        bool same_experiment = true;
        for (const char* dim : {"model", "workload", "load"}) {
          if (f != dim && field(c, dim) != field(r.key, dim)) same_experiment = false;
        }
        if (!same_experiment) continue;
        int score = 0;
        for (const char* dim : {"label", "kernel", "host_model"}) {
          if (f != dim && field(c, dim) == field(r.key, dim)) ++score;
        }
        if (score > best_score) {
          best_score = score;
          r.reference = j;
        }
      }
      if (!r.reference) ++without;
    }
    if (without > 0) {
      t.notes.push_back(
          fmt::format("{} row(s) have no reference row ({} \"{}\" with the same emulated "
                      "model, workload and load): no change shown",
                      without, f, reference->value));
    }
  }
  *out = std::move(t);
  return true;
}

std::optional<double> change_pct(const Table& t, const Row& row, Metric metric) {
  if (!row.reference) return std::nullopt;
  const Row& ref = t.rows[*row.reference];
  const auto v = metric_value(row, metric), rv = metric_value(ref, metric);
  if (!v || !rv) return std::nullopt;
  if (*rv == 0) return *v == 0 ? std::optional<double>(0.0) : std::nullopt;
  return (*v - *rv) / *rv * 100.0;
}

namespace {
constexpr Metric kChangeMetrics[] = {Metric::kP99, Metric::kMax, Metric::kThroughput};

bool has_spread(const Table& t) {
  return std::any_of(t.rows.begin(), t.rows.end(),
                     [](const Row& r) { return r.p99_round_median.has_value(); });
}
}  // namespace

std::vector<std::string> table_header(const Table& t) {
  std::vector<std::string> h{"machine",  "kernel", "host model", "model",           "workload",
                             "load",     "rounds", "wakeups",    "p50 µs",          "p99 µs",
                             "p99.9 µs", "max µs", "missed",     "throughput ops/s"};
  // Per-round p99: median (min–max), beside the pooled p99.
  if (has_spread(t)) h.insert(h.begin() + 10, "p99 per round µs");
  if (t.reference) {
    for (const Metric m : kChangeMetrics) h.push_back(fmt::format("Δ{}", metric_name(m)));
  }
  return h;
}

std::vector<std::string> table_cells(const Table& t, const Row& r) {
  const RowKey& k = r.key;
  std::vector<std::string> c{k.label, k.kernel,   k.host_model,
                             k.model, k.workload, format_load(k.load)};
  std::string rounds = fmt::format("{}", r.rounds.size());
  if (r.failed > 0 || r.interrupted > 0) {
    std::string what;
    if (r.failed > 0) what = fmt::format("{} failed", r.failed);
    if (r.interrupted > 0)
      what += fmt::format("{}{} interrupted", what.empty() ? "" : ", ", r.interrupted);
    rounds += " (" + what + ")";
  }
  c.push_back(rounds);
  const bool spread = has_spread(t);
  if (r.count == 0) {
    c.push_back(r.failed == r.rounds.size() ? "failed" : "0");
    for (int i = 0; i < (spread ? 7 : 6); ++i) c.emplace_back("");
  } else {
    c.push_back(fmt::format("{}", r.count));
    c.push_back(format_percentile(r, 50));
    std::string p99 = format_percentile(r, 99);
    if (r.host_stolen_pct_max && *r.host_stolen_pct_max >= kStolenMarkPct) p99 += " †";
    c.push_back(std::move(p99));
    if (spread) {
      c.push_back(r.p99_round_median
                      ? fmt::format("{} ({}–{})", format_us(*r.p99_round_median),
                                    format_us(*r.p99_round_min), format_us(*r.p99_round_max))
                      : "");
    }
    c.push_back(format_percentile(r, 99.9));
    c.push_back(format_us(static_cast<double>(r.max_ns)));
    c.push_back(r.missed ? fmt::format("{}", *r.missed) : "n/a");
    c.push_back(r.ops_per_s ? format_rate(*r.ops_per_s) : "");
  }
  if (t.reference) {
    const bool is_ref = r.reference && &t.rows[*r.reference] == &r;
    for (const Metric m : kChangeMetrics)
      c.push_back(is_ref ? "ref" : format_change(change_pct(t, r, m)));
  }
  return c;
}

std::string table_summary(const Report& r) {
  std::string s =
      fmt::format("{} result file{}, {} row{}", r.sources.size(), r.sources.size() == 1 ? "" : "s",
                  r.table.rows.size(), r.table.rows.size() == 1 ? "" : "s");
  if (r.table.reference) {
    s += fmt::format("; change against {} = {} (same model, workload and load)",
                     r.table.reference->field, r.table.reference->value);
  }
  return s + ".";
}

}  // namespace pb::report
