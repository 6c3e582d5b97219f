// The statistics behind `compare`: Student's t against published table
// values, Welch's test against a hand-worked example, and compare()'s
// verdicts on constructed rounds.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pb/report/compare.h"
#include "pb/report/stats.h"

namespace pb::report {
namespace {

TEST(CompareStats, IncompleteBeta) {
  EXPECT_NEAR(incomplete_beta(2, 3, 0.4), 0.5248, 1e-4);  // 1 - sum_{k<2} C(4,k) .4^k .6^(4-k)
  EXPECT_NEAR(incomplete_beta(1, 1, 0.3), 0.3, 1e-12);
  EXPECT_EQ(incomplete_beta(2, 2, 0), 0);
  EXPECT_EQ(incomplete_beta(2, 2, 1), 1);
}

TEST(CompareStats, StudentTAgainstTables) {
  // Two-sided 95 % critical values.
  EXPECT_NEAR(student_t_quantile(0.975, 1), 12.706, 1e-3);
  EXPECT_NEAR(student_t_quantile(0.975, 2), 4.303, 1e-3);
  EXPECT_NEAR(student_t_quantile(0.975, 10), 2.228, 1e-3);
  EXPECT_NEAR(student_t_quantile(0.975, 1e6), 1.960, 1e-3);
  EXPECT_NEAR(student_t_cdf(2.228, 10), 0.975, 1e-4);
  EXPECT_NEAR(student_t_cdf(0, 3), 0.5, 1e-12);
  EXPECT_NEAR(student_t_cdf(-1.5, 4.5) + student_t_cdf(1.5, 4.5), 1, 1e-12);
}

TEST(CompareStats, WelchWorkedExample) {
  // a: mean 20, var 2.5; b: mean 23, var 2.5; n = 5 each.
  const std::vector<double> a{18, 19, 20, 21, 22}, b{21, 22, 23, 24, 25};
  const auto w = welch_test(a, b, 0.95);
  ASSERT_TRUE(w.has_value());
  EXPECT_DOUBLE_EQ(w->diff, 3);
  EXPECT_NEAR(w->t, 3.0, 1e-12);  // 3 / sqrt(2.5/5 + 2.5/5)
  EXPECT_NEAR(w->df, 8, 1e-9);
  EXPECT_NEAR(w->p_value, 0.01707, 1e-4);
  EXPECT_NEAR(w->ci_low, 3 - 2.306 * 1.0, 1e-3);
  EXPECT_NEAR(w->ci_high, 3 + 2.306 * 1.0, 1e-3);
  EXPECT_FALSE(welch_test({1}, {1, 2}, 0.95).has_value());
  const auto same = welch_test({5, 5}, {5, 5}, 0.95);
  EXPECT_EQ(same->p_value, 1);
  const auto exact = welch_test({5, 5}, {6, 6}, 0.95);
  EXPECT_EQ(exact->p_value, 0);
}

Record round(const std::string& model, double p99_ns, double ops, int r) {
  Record m;
  m.label = "vm";
  m.kernel = "k";
  m.host_model = "full";
  m.model = model;
  m.workload = "w";
  m.load = 1;
  m.round = r;
  const auto v = static_cast<int64_t>(p99_ns);
  m.histogram.record_n(v, 100);
  m.has_histogram = true;
  m.count = 100;
  m.min_ns = m.max_ns = v;
  m.mean_ns = p99_ns;
  m.missed = 0;
  m.ops_per_s = ops;
  return m;
}

std::vector<Record> rounds(const std::vector<double>& p99, double ops = 1000) {
  std::vector<Record> out;
  for (size_t i = 0; i < p99.size(); ++i)
    out.push_back(round("full", p99[i], ops, static_cast<int>(i)));
  return out;
}

const MetricComparison& only(const Comparison& c, Metric m) {
  for (const auto& mc : c.cells.at(0).metrics) {
    if (mc.metric == m) return mc;
  }
  static MetricComparison none;
  ADD_FAILURE() << "no " << metric_name(m);
  return none;
}

TEST(CompareVerdicts, RegressionBeyondNoise) {
  Comparison c;
  std::string error;
  ASSERT_TRUE(compare(rounds({10000, 10100, 9900, 10000}), rounds({13000, 13100, 12900, 13000}), {},
                      &c, &error));
  const auto& p99 = only(c, Metric::kP99);
  EXPECT_EQ(p99.verdict, Verdict::kRegressed);
  EXPECT_NEAR(*p99.change_pct, 30, 0.01);
  ASSERT_TRUE(p99.p_value.has_value());
  EXPECT_LT(*p99.p_value, 1e-5);
  EXPECT_LT(*p99.ci_low_pct, 30);
  EXPECT_GT(*p99.ci_high_pct, 30);
  EXPECT_TRUE(c.regressed());
}

TEST(CompareVerdicts, NoisyChangeIsNotARegression) {
  Comparison c;
  std::string error;
  ASSERT_TRUE(compare(rounds({10000, 14000, 8000, 12000}), rounds({16000, 9000, 15000, 11000}), {},
                      &c, &error));
  const auto& p99 = only(c, Metric::kP99);
  EXPECT_GT(*p99.change_pct, 10);
  EXPECT_EQ(p99.verdict, Verdict::kNoise);
  EXPECT_GT(*p99.p_value, 0.05);
  EXPECT_FALSE(c.regressed());
}

TEST(CompareVerdicts, SingleRoundUsesTheThresholdOnly) {
  Comparison c;
  std::string error;
  ASSERT_TRUE(compare(rounds({10000}), rounds({11500}), {}, &c, &error));
  EXPECT_EQ(only(c, Metric::kP99).verdict, Verdict::kRegressed);
  EXPECT_EQ(only(c, Metric::kP99).why, "single round: threshold only");
  ASSERT_TRUE(compare(rounds({10000}), rounds({10500}), {}, &c, &error));
  EXPECT_EQ(only(c, Metric::kP99).verdict, Verdict::kOk);
  EXPECT_FALSE(c.regressed());
}

TEST(CompareVerdicts, ThroughputRegressesDownwards) {
  Comparison c;
  std::string error;
  ASSERT_TRUE(compare(rounds({10000}, 1000), rounds({10000}, 800), {}, &c, &error));
  EXPECT_EQ(only(c, Metric::kThroughput).verdict, Verdict::kRegressed);
  ASSERT_TRUE(compare(rounds({10000}, 1000), rounds({10000}, 1300), {}, &c, &error));
  EXPECT_EQ(only(c, Metric::kThroughput).verdict, Verdict::kImproved);
  EXPECT_FALSE(c.regressed());
}

TEST(CompareVerdicts, ThresholdsPerMetric) {
  CompareOptions o;
  std::string error;
  ASSERT_TRUE(parse_max_regression("p99=40%,max=5,2.5%", &o, &error)) << error;
  EXPECT_EQ(o.max_regression_pct, 2.5);
  EXPECT_EQ(o.per_metric_pct.at(Metric::kP99), 40);
  EXPECT_EQ(o.per_metric_pct.at(Metric::kMax), 5);
  Comparison c;
  ASSERT_TRUE(compare(rounds({10000, 10100, 9900}), rounds({13000, 13100, 12900}), o, &c, &error));
  EXPECT_EQ(only(c, Metric::kP99).verdict, Verdict::kOk);         // 30 % < 40 %
  EXPECT_EQ(only(c, Metric::kMax).verdict, Verdict::kRegressed);  // 30 % > 5 %
  for (const char* bad : {"ten", "-5%", "p99=", "p42=5%", "5%%", "nan", "inf"}) {
    EXPECT_FALSE(parse_max_regression(bad, &o, &error)) << bad;
  }
  EXPECT_FALSE(parse_metrics("p99,p42", &o, &error));
  EXPECT_NE(error.find("p42"), std::string::npos);
}

TEST(CompareVerdicts, FailedCandidateCellRegresses) {
  auto cand = rounds({10000});
  cand[0].error = "watchdog: task rt ran 500 ms without a preemption point";
  Comparison c;
  std::string error;
  ASSERT_TRUE(compare(rounds({10000}), cand, {}, &c, &error));
  EXPECT_TRUE(c.regressed());
  EXPECT_NE(format_comparison(c).find("the candidate cell failed: watchdog"), std::string::npos);
}

TEST(CompareVerdicts, NothingInCommonOrMetricNowhere) {
  auto other = rounds({10000});
  other[0].workload = "other";
  Comparison c;
  std::string error;
  EXPECT_FALSE(compare(rounds({10000}), other, {}, &c, &error));
  EXPECT_NE(error.find("no cell is in both"), std::string::npos);
  auto no_ops = rounds({10000});
  no_ops[0].ops_per_s.reset();
  CompareOptions o;
  ASSERT_TRUE(parse_metrics("throughput", &o, &error));
  EXPECT_FALSE(compare(no_ops, no_ops, o, &c, &error));
  EXPECT_NE(error.find("--metric throughput"), std::string::npos) << error;
  // The default list skips what the results lack, with a note.
  ASSERT_TRUE(compare(no_ops, no_ops, {}, &c, &error)) << error;
  EXPECT_EQ(c.cells[0].metrics.size(), 2u);
}

TEST(CompareVerdicts, MachinesMatchByLabelWhenASideHasSeveral) {
  auto base = rounds({10000});
  auto second = rounds({20000});
  second[0].label = "vm2";
  base.push_back(second[0]);
  auto cand = base;
  cand[1].histogram.reset();
  cand[1].histogram.record_n(30000, 100);  // vm2's p99 +50 %, vm's unchanged
  cand[1].max_ns = cand[1].min_ns = 30000;
  Comparison c;
  std::string error;
  ASSERT_TRUE(compare(base, cand, {}, &c, &error));
  ASSERT_EQ(c.cells.size(), 2u);
  EXPECT_EQ(c.cells[0].label, "vm");
  EXPECT_EQ(c.cells[1].label, "vm2");
  EXPECT_EQ(c.cells[0].metrics[0].verdict, Verdict::kOk);
  EXPECT_EQ(c.cells[1].metrics[0].verdict, Verdict::kRegressed);
}

}  // namespace
}  // namespace pb::report
