// The statistics `compare` uses to tell a change from run-to-run noise:
// the Mann-Whitney U rank test on per-round values, and Welch's
// unequal-variance t-test with the confidence interval of the difference of
// means. Pure functions, no allocation beyond
// their arguments.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace pb::report {

// Student's t distribution with df > 0 degrees of freedom, from Boost.Math
// (boost/math/distributions/students_t.hpp); NaN for arguments outside the
// domain, never an exception.
double student_t_cdf(double t, double df);

// P(|T| >= |t|): the two-sided p-value of a t statistic.
double student_t_two_sided_p(double t, double df);

// The q-quantile of Student's t, q in (0, 1).
double student_t_quantile(double q, double df);

struct Welch {
  double mean_a = 0, mean_b = 0;
  double diff = 0;  // mean_b - mean_a
  double t = 0;
  double df = 0;       // Welch–Satterthwaite
  double p_value = 1;  // two-sided
  double ci_low = 0;   // confidence interval of diff
  double ci_high = 0;
};

// Welch's t-test of b against a at `confidence` (e.g. 0.95). REQUIRES each
// sample to have at least two values; returns nullopt otherwise or on
// non-finite values. Zero variance in both: p = 0 if the means differ, else 1.
std::optional<Welch> welch_test(const std::vector<double>& a, const std::vector<double>& b,
                                double confidence);

// Mann–Whitney U test of b against a (two-sided): does one sample tend to
// hold larger values than the other? Rank-based, so one round spoiled by a
// host stall moves it by one rank, not by its size. Ties get mid-ranks. The
// p-value is exact (every split of the pooled values into the two sample
// sizes enumerated) when there are at most kMannWhitneyExactMax splits, and
// the normal approximation with the tie correction otherwise.
struct MannWhitney {
  double u = 0;        // U of b: pairs (a_i, b_j) with b_j > a_i, ties counting 1/2
  double p_value = 1;  // two-sided
  bool exact = false;
  // The smallest two-sided p-value these sample sizes can reach (exact test):
  // below alpha, no difference can be significant, however large.
  double min_p_value = 1;
};
inline constexpr double kMannWhitneyExactMax = 2e5;

// REQUIRES at least one value on each side; nullopt otherwise or on
// non-finite values.
std::optional<MannWhitney> mann_whitney(const std::vector<double>& a, const std::vector<double>& b);

// The smallest two-sided p-value of an exact Mann–Whitney test with n and m
// values: 2 / C(n + m, n) (capped at 1).
double mann_whitney_min_p(size_t n, size_t m);

// The q-quantile of the standard normal distribution, q in (0, 1); NaN
// outside.
double normal_quantile(double q);

double median(std::vector<double> v);       // 0 for no values
double mean(const std::vector<double>& v);  // 0 for no values
// The unbiased sample variance about `m`; 0 with fewer than two values.
double sample_variance(const std::vector<double>& v, double m);

}  // namespace pb::report
