#include "pb/report/record.h"

namespace pb::report {

std::optional<Metric> parse_metric(std::string_view name) {
  if (name == "min") return Metric::kMin;
  if (name == "p50") return Metric::kP50;
  if (name == "p90") return Metric::kP90;
  if (name == "p99") return Metric::kP99;
  if (name == "p99.9" || name == "p999") return Metric::kP999;
  if (name == "p99.99" || name == "p9999") return Metric::kP9999;
  if (name == "max") return Metric::kMax;
  if (name == "mean" || name == "avg") return Metric::kMean;
  if (name == "missed") return Metric::kMissed;
  if (name == "throughput" || name == "ops_per_s") return Metric::kThroughput;
  return std::nullopt;
}

std::string_view metric_name(Metric m) {
  switch (m) {
    case Metric::kMin:
      return "min";
    case Metric::kP50:
      return "p50";
    case Metric::kP90:
      return "p90";
    case Metric::kP99:
      return "p99";
    case Metric::kP999:
      return "p99.9";
    case Metric::kP9999:
      return "p99.99";
    case Metric::kMax:
      return "max";
    case Metric::kMean:
      return "mean";
    case Metric::kMissed:
      return "missed";
    case Metric::kThroughput:
      return "throughput";
  }
  return "?";
}

bool higher_is_better(Metric m) { return m == Metric::kThroughput; }

std::optional<double> metric_percentile(Metric m) {
  switch (m) {
    case Metric::kP50:
      return 50.0;
    case Metric::kP90:
      return 90.0;
    case Metric::kP99:
      return 99.0;
    case Metric::kP999:
      return 99.9;
    case Metric::kP9999:
      return 99.99;
    default:
      return std::nullopt;
  }
}

std::optional<int64_t> bounded_percentile(const LatencyHistogram& h, int64_t ceiling_ns,
                                          int64_t resolution_ns, double p) {
  if (h.count() == 0) return std::nullopt;
  int64_t v = h.percentile(p);
  if (resolution_ns > 1) v -= v % resolution_ns;
  if (ceiling_ns > 0 && v >= ceiling_ns) return std::nullopt;
  return v;
}

std::optional<double> metric_value(const Record& m, Metric metric) {
  if (!m.error.empty()) return std::nullopt;
  if (const auto p = metric_percentile(metric)) {
    if (!m.has_histogram) return std::nullopt;
    const auto v = bounded_percentile(m.histogram, m.ceiling_ns, m.resolution_ns, *p);
    return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
  }
  switch (metric) {
    case Metric::kMin:
      return m.count > 0 ? std::optional<double>(static_cast<double>(m.min_ns)) : std::nullopt;
    case Metric::kMax:
      return m.count > 0 ? std::optional<double>(static_cast<double>(m.max_ns)) : std::nullopt;
    case Metric::kMean:
      return m.count > 0 ? std::optional<double>(m.mean_ns) : std::nullopt;
    case Metric::kMissed:
      return m.missed ? std::optional<double>(static_cast<double>(*m.missed)) : std::nullopt;
    case Metric::kThroughput:
      return m.ops_per_s;
    default:
      return std::nullopt;
  }
}

}  // namespace pb::report
