#include "pb/report/format.h"

#include <cmath>

#include <fmt/format.h>

namespace pb::report {

std::string format_us(double ns) { return fmt::format("{:.1f}", ns / 1000.0); }

std::string format_fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  return fmt::format("{:.{}f}", v, decimals);
}

std::string format_load(double load) { return fmt::format("{}", load); }

std::string format_load(const std::optional<double>& load) {
  return load ? format_load(*load) : "";
}

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

std::string format_rate(double ops_per_s) {
  if (!std::isfinite(ops_per_s)) return "n/a";
  if (std::fabs(ops_per_s) >= 100) return fmt::format("{:.0f}", ops_per_s);
  return fmt::format("{:.2f}", ops_per_s);
}

}  // namespace pb::report
