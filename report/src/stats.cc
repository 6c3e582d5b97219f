#include "pb/report/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <boost/math/distributions/students_t.hpp>

namespace pb::report {

namespace {

// Boost.Math reports a bad argument or an overflow through errno and a NaN or
// infinity instead of an exception: compare's callers check finiteness.
using NoThrow = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::errno_on_error>,
    boost::math::policies::overflow_error<boost::math::policies::errno_on_error>,
    boost::math::policies::evaluation_error<boost::math::policies::errno_on_error>,
    boost::math::policies::pole_error<boost::math::policies::errno_on_error>>;
using StudentT = boost::math::students_t_distribution<double, NoThrow>;

}  // namespace

double student_t_cdf(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(t)) return t > 0 ? 1 : 0;
  return boost::math::cdf(StudentT(df), t);
}

double student_t_two_sided_p(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(t)) return 0;
  // The upper tail taken directly, without the cancellation of 1 - cdf.
  return std::min(1.0, 2 * boost::math::cdf(boost::math::complement(StudentT(df), std::fabs(t))));
}

double student_t_quantile(double q, double df) {
  if (!(q > 0 && q < 1) || !(df > 0)) return std::numeric_limits<double>::quiet_NaN();
  return boost::math::quantile(StudentT(df), q);
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
  w.p_value = student_t_two_sided_p(w.t, w.df);
  const double tq = student_t_quantile(1 - (1 - confidence) / 2, w.df);
  w.ci_low = w.diff - tq * se;
  w.ci_high = w.diff + tq * se;
  return w;
}

}  // namespace pb::report
