#include "pb/report/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <boost/math/distributions/normal.hpp>
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

double normal_quantile(double q) {
  if (!(q > 0 && q < 1)) return std::numeric_limits<double>::quiet_NaN();
  return boost::math::quantile(boost::math::normal_distribution<double, NoThrow>(), q);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double mann_whitney_min_p(size_t n, size_t m) {
  // C(n + m, n) in floating point: exact for the sizes rounds come in.
  double c = 1;
  for (size_t i = 1; i <= n; ++i) c = c * static_cast<double>(m + i) / static_cast<double>(i);
  return std::min(1.0, 2 / c);
}

namespace {

// U of the values at `chosen` positions (of `ranks`, mid-ranks of the pool)
// taken as sample b: the rank sum less its minimum.
double u_of(double rank_sum, size_t nb) {
  return rank_sum - static_cast<double>(nb) * static_cast<double>(nb + 1) / 2;
}

// Counts the subsets of `nb` ranks (out of ranks[from..]) whose sum lies at
// least `dev` from `centre`, recursively; `sum` is the partial sum so far.
void count_splits(const std::vector<double>& ranks, size_t from, size_t left, double sum,
                  double centre, double dev, double* extreme, double* total) {
  if (left == 0) {
    *total += 1;
    if (std::fabs(sum - centre) >= dev - 1e-9) *extreme += 1;
    return;
  }
  for (size_t i = from; i + left <= ranks.size(); ++i)
    count_splits(ranks, i + 1, left - 1, sum + ranks[i], centre, dev, extreme, total);
}

}  // namespace

std::optional<MannWhitney> mann_whitney(const std::vector<double>& a,
                                        const std::vector<double>& b) {
  if (a.empty() || b.empty()) return std::nullopt;
  for (const auto* v : {&a, &b}) {
    for (double x : *v) {
      if (!std::isfinite(x)) return std::nullopt;
    }
  }
  const size_t na = a.size(), nb = b.size(), n = na + nb;
  // Pool, sort, mid-ranks (1-based).
  std::vector<std::pair<double, size_t>> pool;  // value, index (< nb: from b)
  pool.reserve(n);
  for (size_t i = 0; i < nb; ++i) pool.emplace_back(b[i], i);
  for (size_t i = 0; i < na; ++i) pool.emplace_back(a[i], nb + i);
  std::sort(pool.begin(), pool.end());
  std::vector<double> rank(n);
  double tie_term = 0;  // sum of t^3 - t over tie groups
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && pool[j].first == pool[i].first) ++j;
    const double mid = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (size_t k = i; k < j; ++k) rank[pool[k].second] = mid;
    const double t = static_cast<double>(j - i);
    tie_term += t * t * t - t;
    i = j;
  }
  double rank_sum_b = 0;
  for (size_t i = 0; i < nb; ++i) rank_sum_b += rank[i];
  MannWhitney r;
  r.u = u_of(rank_sum_b, nb);
  r.min_p_value = mann_whitney_min_p(na, nb);
  const double centre = static_cast<double>(nb) * static_cast<double>(n + 1) / 2;  // E[rank sum]
  const double dev = std::fabs(rank_sum_b - centre);
  // C(n, nb) splits: enumerate when few enough.
  double splits = 1;
  for (size_t i = 1; i <= nb; ++i)
    splits = splits * static_cast<double>(na + i) / static_cast<double>(i);
  if (splits <= kMannWhitneyExactMax) {
    double extreme = 0, total = 0;
    count_splits(rank, 0, nb, 0, centre, dev, &extreme, &total);
    r.exact = true;
    r.p_value = std::min(1.0, extreme / total);
    return r;
  }
  // Normal approximation with the tie correction and a continuity correction.
  const double dn = static_cast<double>(n);
  const double var = static_cast<double>(na) * static_cast<double>(nb) / 12 *
                     ((dn + 1) - tie_term / (dn * (dn - 1)));
  if (!(var > 0)) {
    r.p_value = 1;
    return r;
  }
  const double z = std::max(0.0, dev - 0.5) / std::sqrt(var);
  r.p_value = std::min(1.0, 2 * boost::math::cdf(boost::math::complement(
                                    boost::math::normal_distribution<double, NoThrow>(), z)));
  return r;
}

double mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double sample_variance(const std::vector<double>& v, double m) {
  if (v.size() < 2) return 0;
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size() - 1);
}

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
