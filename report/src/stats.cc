#include "pb/report/stats.h"

#include <cmath>
#include <limits>

namespace pb::report {

namespace {

// Lentz's continued fraction for I_x(a, b) (Numerical Recipes' betacf).
double beta_cf(double a, double b, double x) {
  constexpr int kMaxIter = 500;
  constexpr double kEps = 1e-15, kTiny = 1e-300;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= kMaxIter; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < kEps) break;
  }
  return h;
}

}  // namespace

double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  // The continued fraction converges for x < (a + 1) / (a + b + 2); use the
  // symmetry I_x(a, b) = 1 - I_{1-x}(b, a) beyond it.
  if (x < (a + 1) / (a + b + 2)) return front * beta_cf(a, b, x) / a;
  return 1 - front * beta_cf(b, a, 1 - x) / b;
}

double student_t_cdf(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(t)) return t > 0 ? 1 : 0;
  const double x = df / (df + t * t);
  const double tail = 0.5 * incomplete_beta(df / 2, 0.5, x);  // P(T > |t|)
  return t >= 0 ? 1 - tail : tail;
}

double student_t_quantile(double q, double df) {
  if (!(q > 0 && q < 1) || !(df > 0)) return std::numeric_limits<double>::quiet_NaN();
  double lo = -1e7, hi = 1e7;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (student_t_cdf(mid, df) < q) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return 0.5 * (lo + hi);
}

double mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

namespace {

double sample_variance(const std::vector<double>& v, double m) {
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size() - 1);
}

}  // namespace

std::optional<Welch> welch_test(const std::vector<double>& a, const std::vector<double>& b,
                                double confidence) {
  if (a.size() < 2 || b.size() < 2 || !(confidence > 0 && confidence < 1)) return std::nullopt;
  for (const auto* v : {&a, &b}) {
    for (double x : *v) {
      if (!std::isfinite(x)) return std::nullopt;
    }
  }
  Welch w;
  w.mean_a = mean(a);
  w.mean_b = mean(b);
  w.diff = w.mean_b - w.mean_a;
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  const double va = sample_variance(a, w.mean_a) / na, vb = sample_variance(b, w.mean_b) / nb;
  const double se2 = va + vb;
  if (!(se2 > 0)) {
    // No spread on either side: the difference is exact.
    w.t = w.diff == 0 ? 0 : std::copysign(std::numeric_limits<double>::infinity(), w.diff);
    w.df = na + nb - 2;
    w.p_value = w.diff == 0 ? 1 : 0;
    w.ci_low = w.ci_high = w.diff;
    return w;
  }
  const double se = std::sqrt(se2);
  w.t = w.diff / se;
  w.df = se2 * se2 / (va * va / (na - 1) + vb * vb / (nb - 1));
  // Two-sided tail straight from the incomplete beta (no 1 - cdf cancellation).
  w.p_value = incomplete_beta(w.df / 2, 0.5, w.df / (w.df + w.t * w.t));
  const double tq = student_t_quantile(1 - (1 - confidence) / 2, w.df);
  w.ci_low = w.diff - tq * se;
  w.ci_high = w.diff + tq * se;
  return w;
}

}  // namespace pb::report
