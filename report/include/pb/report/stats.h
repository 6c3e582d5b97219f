// The statistics `compare` uses to tell a change from run-to-run noise:
// Welch's unequal-variance t-test on per-round values and the confidence
// interval of the difference of means. Pure functions, no allocation beyond
// their arguments.
#pragma once

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

double mean(const std::vector<double>& v);

}  // namespace pb::report
