// Number formatting shared by the report's reporters and compare's table.
#include <cmath>

#include <fmt/format.h>

#include "pb/report/reporter.h"

namespace pb::report {

std::string format_us(double ns) { return fmt::format("{:.1f}", ns / 1000.0); }

std::string format_percentile(const Row& r, double p) {
  if (r.count == 0 || !r.has_histogram) return "n/a";
  const auto v = bounded_percentile(r.histogram, r.ceiling_ns, r.resolution_ns, p);
  if (!v) return "≥" + format_us(static_cast<double>(r.ceiling_ns));
  return format_us(static_cast<double>(*v));
}

std::string format_change(std::optional<double> pct) {
  if (!pct) return "";
  if (std::isinf(*pct)) return *pct > 0 ? "+inf%" : "-inf%";
  const double v = std::fabs(*pct) < 0.05 ? 0.0 : *pct;
  return fmt::format("{:+.1f}%", v);
}

std::string format_load(const std::optional<double>& load) {
  return load ? fmt::format("{:g}", *load) : "";
}

std::string format_rate(double ops_per_s) {
  if (!std::isfinite(ops_per_s)) return "n/a";
  if (std::fabs(ops_per_s) >= 100) return fmt::format("{:.0f}", ops_per_s);
  return fmt::format("{:.2f}", ops_per_s);
}

}  // namespace pb::report

namespace pb::report {

namespace {
constexpr Metric kChangeMetrics[] = {Metric::kP99, Metric::kMax, Metric::kThroughput};
}

std::vector<std::string> table_header(const Table& t) {
  std::vector<std::string> h{"machine",  "kernel", "host model", "model",           "workload",
                             "load",     "rounds", "wakeups",    "p50 µs",          "p99 µs",
                             "p99.9 µs", "max µs", "missed",     "throughput ops/s"};
  if (t.reference) {
    for (const Metric m : kChangeMetrics) h.push_back(fmt::format("Δ{}", metric_name(m)));
  }
  return h;
}

std::vector<std::string> table_cells(const Table& t, const Row& r) {
  const RowKey& k = r.key;
  std::vector<std::string> c{k.label, k.kernel,   k.host_model,
                             k.model, k.workload, format_load(k.load)};
  c.push_back(r.failed > 0 ? fmt::format("{} ({} failed)", r.rounds.size(), r.failed)
                           : fmt::format("{}", r.rounds.size()));
  if (r.count == 0) {
    c.push_back(r.failed == r.rounds.size() ? "failed" : "0");
    for (int i = 0; i < 6; ++i) c.emplace_back("");
  } else {
    c.push_back(fmt::format("{}", r.count));
    c.push_back(format_percentile(r, 50));
    c.push_back(format_percentile(r, 99));
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
