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

TEST(CompareStats, TwoSidedPAndBadArguments) {
  // With one degree of freedom T is Cauchy: P(|T| >= 1) = 1/2.
  EXPECT_NEAR(student_t_two_sided_p(1, 1), 0.5, 1e-12);
  EXPECT_NEAR(student_t_two_sided_p(-2.228, 10), 0.05, 1e-4);
  EXPECT_EQ(student_t_two_sided_p(0, 7), 1);
  EXPECT_EQ(student_t_two_sided_p(INFINITY, 3), 0);
  // Outside the domain: NaN, no exception.
  EXPECT_TRUE(std::isnan(student_t_two_sided_p(1, 0)));
  EXPECT_TRUE(std::isnan(student_t_cdf(1, -1)));
  EXPECT_TRUE(std::isnan(student_t_quantile(1.5, 3)));
  EXPECT_TRUE(std::isnan(student_t_quantile(0.5, NAN)));
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

TEST(CompareStats, MannWhitneyExactSmallSamples) {
  // U counts the pairs where b is larger: 3.5 beats 1, 2, 3; 6..9 beat all
  // five. Two-sided exact p: 2 * P(U <= 2) = 2 * (1 + 1 + 2) / C(10, 5).
  const auto r = mann_whitney({1, 2, 3, 4, 5}, {3.5, 6, 7, 8, 9});
  ASSERT_TRUE(r.has_value());
  EXPECT_DOUBLE_EQ(r->u, 23);
  EXPECT_TRUE(r->exact);
  EXPECT_NEAR(r->p_value, 8.0 / 252, 1e-12);
  EXPECT_NEAR(r->min_p_value, 2.0 / 252, 1e-12);
  // Complete separation reaches the smallest p the sizes allow: 2 / C(n+m, n).
  EXPECT_NEAR(mann_whitney({1, 2, 3}, {4, 5, 6})->p_value, 0.1, 1e-12);
  EXPECT_NEAR(mann_whitney({4, 5, 6}, {1, 2, 3})->p_value, 0.1, 1e-12);
  EXPECT_NEAR(mann_whitney({1, 2, 3, 4}, {5, 6, 7, 8})->p_value, 2.0 / 70, 1e-12);
  EXPECT_NEAR(mann_whitney_min_p(2, 2), 1.0 / 3, 1e-12);
  EXPECT_EQ(mann_whitney_min_p(1, 1), 1);
  // One wild round moves U by one rank, not by its size.
  EXPECT_NEAR(mann_whitney({1, 2, 3, 4}, {5, 6, 7, 8e9})->p_value, 2.0 / 70, 1e-12);
}

TEST(CompareStats, MannWhitneyTiesAndNoDifference) {
  EXPECT_EQ(mann_whitney({5, 5}, {5, 5})->p_value, 1);
  EXPECT_EQ(mann_whitney({1, 2, 3}, {1, 2, 3})->p_value, 1);
  // Mid-ranks: 10 | 20 20 20 | 30 30 | 40 | 50 50; U of b = 17.5.
  const auto r = mann_whitney({10, 20, 20, 30}, {20, 30, 40, 50, 50});
  ASSERT_TRUE(r.has_value());
  EXPECT_DOUBLE_EQ(r->u, 17.5);
  EXPECT_NEAR(r->p_value, 10.0 / 126, 1e-12);
  EXPECT_FALSE(mann_whitney({}, {1}).has_value());
  EXPECT_FALSE(mann_whitney({1, NAN}, {1}).has_value());
}

TEST(CompareStats, MannWhitneyNormalApproximationForLargeSamples) {
  std::vector<double> a, b, c;
  for (int i = 0; i < 15; ++i) {
    a.push_back(100 + i);
    b.push_back(200 + i);
    c.push_back(100.5 + i);
  }
  const auto sep = mann_whitney(a, b);
  ASSERT_TRUE(sep.has_value());
  EXPECT_FALSE(sep->exact);  // C(30, 15) splits
  EXPECT_DOUBLE_EQ(sep->u, 225);
  EXPECT_LT(sep->p_value, 1e-5);
  const auto same = mann_whitney(a, c);  // interleaved: U = 120, centre 112.5
  EXPECT_GT(same->p_value, 0.5);
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
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

CompareOptions welch() {
  CompareOptions o;
  o.test = CompareTest::kWelch;
  return o;
}

// The defaults on p99 alone: one test per cell, so a one-cell comparison has
// nothing for Holm's correction to adjust.
CompareOptions p99_only() {
  CompareOptions o;
  o.metrics = {Metric::kP99};
  return o;
}

TEST(CompareVerdicts, RegressionBeyondNoise) {
  Comparison c;
  std::string error;
  ASSERT_TRUE(compare(rounds({10000, 10100, 9900, 10000}), rounds({13000, 13100, 12900, 13000}),
                      welch(), &c, &error));
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
  ASSERT_TRUE(compare(rounds({10000, 14000, 8000, 12000}), rounds({16000, 9000, 15000, 11000}),
                      welch(), &c, &error));
  const auto& p99 = only(c, Metric::kP99);
  EXPECT_GT(*p99.change_pct, 10);
  EXPECT_EQ(p99.verdict, Verdict::kNoise);
  EXPECT_GT(*p99.p_value, 0.05);
  EXPECT_FALSE(c.regressed());
}

// The default test with >= 4 rounds per side: medians and Mann-Whitney U.
TEST(CompareVerdicts, RankTestOnMedians) {
  CompareOptions o = p99_only();
  ASSERT_EQ(o.test, CompareTest::kAuto);
  Comparison c;
  std::string error;
  // Four rounds each, every candidate round worse: p = 2 / C(8, 4) = 0.029.
  ASSERT_TRUE(compare(rounds({10000, 10100, 9900, 10050}), rounds({13000, 13100, 12900, 60000}), o,
                      &c, &error));
  const auto& p99 = only(c, Metric::kP99);
  EXPECT_EQ(p99.test, CompareTest::kRank);
  EXPECT_EQ(p99.verdict, Verdict::kRegressed);
  EXPECT_NEAR(p99.baseline_centre, 10025, 30);   // the histogram's resolution
  EXPECT_NEAR(p99.candidate_centre, 13050, 30);  // the 60 us outlier does not move it
  ASSERT_TRUE(p99.p_value.has_value());
  EXPECT_NEAR(*p99.p_value, 2.0 / 70, 1e-12);
  EXPECT_FALSE(p99.ci_low_pct.has_value());  // no interval from the rank test
  EXPECT_TRUE(c.regressed());
  // One spoiled baseline round out of four: the medians barely move, and a
  // mean-based test would have called the same data a 1.3x improvement.
  ASSERT_TRUE(compare(rounds({10000, 10100, 60000, 10050}), rounds({10020, 10080, 9990, 10060}), o,
                      &c, &error));
  EXPECT_EQ(only(c, Metric::kP99).verdict, Verdict::kOk);
  ASSERT_TRUE(compare(rounds({10000, 10100, 60000, 10050}), rounds({10020, 10080, 9990, 10060}),
                      welch(), &c, &error));
  EXPECT_LT(*only(c, Metric::kP99).change_pct, -50);
  // With the default three metrics there are three tests, each at 0.05 / 3
  // for the choice: four rounds (smallest p 0.029) cannot reach it, so the
  // default takes Welch's test.
  ASSERT_TRUE(compare(rounds({10000, 10100, 9900, 10050}), rounds({13000, 13100, 12900, 60000}),
                      CompareOptions{}, &c, &error));
  EXPECT_EQ(c.tests, 3u);
  EXPECT_EQ(only(c, Metric::kP99).test, CompareTest::kWelch);
}

TEST(CompareVerdicts, RankTestNeedsFourRoundsPerSide) {
  Comparison c;
  std::string error;
  // Three against three can never give p < 0.05 (its smallest p is 0.1):
  // forced, the rank test calls it noise, with the reason and the rounds
  // that would do; the default takes Welch's test there.
  CompareOptions rank = p99_only();
  rank.test = CompareTest::kRank;
  ASSERT_TRUE(
      compare(rounds({10000, 10100, 9900}), rounds({13000, 13100, 12900}), rank, &c, &error));
  const auto& p99 = only(c, Metric::kP99);
  EXPECT_EQ(p99.verdict, Verdict::kNoise);
  EXPECT_NE(p99.why.find("cannot reach p < 0.05 with the rank test (4 can)"), std::string::npos)
      << p99.why;
  ASSERT_TRUE(p99.rounds_needed.has_value());
  EXPECT_GE(*p99.rounds_needed, 4u);
  EXPECT_FALSE(c.regressed());
  const std::string text = format_comparison(c);
  EXPECT_NE(text.find("rounds needed: "), std::string::npos) << text;
  EXPECT_NE(text.find("Mann-Whitney"), std::string::npos);
  ASSERT_TRUE(compare(rounds({10000, 10100, 9900}), rounds({13000, 13100, 12900}), {}, &c, &error));
  EXPECT_EQ(only(c, Metric::kP99).test, CompareTest::kWelch);
  EXPECT_EQ(only(c, Metric::kP99).verdict, Verdict::kRegressed);
}

TEST(CompareVerdicts, RoundsNeededGrowWithNoise) {
  Comparison quiet, noisy;
  std::string error;
  const auto base_q = rounds({10000, 10100, 9900, 10050, 9950});
  const auto base_n = rounds({10000, 12000, 8000, 11000, 9000});
  CompareOptions welch1 = welch();
  welch1.metrics = {Metric::kP99};  // one test: alpha 0.05 itself
  ASSERT_TRUE(compare(base_q, base_q, welch1, &quiet, &error));
  ASSERT_TRUE(compare(base_n, base_n, welch1, &noisy, &error));
  const auto nq = only(quiet, Metric::kP99).rounds_needed;
  const auto nn = only(noisy, Metric::kP99).rounds_needed;
  ASSERT_TRUE(nq && nn);
  // sd 79 ns vs 1581 ns, 10 % of 10 us to detect: 2 (1.96 + 1.28)^2 (sd/1000)^2.
  EXPECT_EQ(*nq, 2u);
  EXPECT_EQ(*nn, 53u);
  // Three tests (the default metrics) under Holm's correction: the rounds
  // needed are for the first step's level, 0.05 / 3 (z 2.39 instead of 1.96).
  CompareOptions welch3 = welch();
  ASSERT_TRUE(compare(base_n, base_n, welch3, &noisy, &error));
  EXPECT_EQ(noisy.tests, 3u);
  EXPECT_EQ(*only(noisy, Metric::kP99).rounds_needed, 68u);
  welch3.family_wise = false;
  ASSERT_TRUE(compare(base_n, base_n, welch3, &noisy, &error));
  EXPECT_EQ(*only(noisy, Metric::kP99).rounds_needed, 53u);
  // The rank test: robust spread, 3/pi efficiency, at least 4.
  ASSERT_TRUE(compare(base_q, base_q, p99_only(), &quiet, &error));
  EXPECT_EQ(*only(quiet, Metric::kP99).rounds_needed, 4u);
  // No noise estimate from one round.
  ASSERT_TRUE(compare(rounds({10000}), rounds({10000}), {}, &quiet, &error));
  EXPECT_FALSE(only(quiet, Metric::kP99).rounds_needed.has_value());
}

// Cells of several models, one round per p99 value.
std::vector<Record> cells(
    const std::vector<std::pair<std::string, std::vector<double>>>& per_model) {
  std::vector<Record> out;
  for (const auto& [model, p99] : per_model) {
    for (size_t i = 0; i < p99.size(); ++i)
      out.push_back(round(model, p99[i], 1000, static_cast<int>(i)));
  }
  return out;
}

const MetricComparison& p99_of(const Comparison& c, const std::string& model) {
  for (const auto& cell : c.cells) {
    if (cell.model == model) return cell.metrics.at(0);
  }
  static MetricComparison none;
  ADD_FAILURE() << "no cell " << model;
  return none;
}

// Three cells, each 4 rounds against 4 with every candidate round worse:
// alone, each is a regression (p = 2/70 = 0.029 < 0.05). Together they are
// three tests, and a gate that fails when any fires must keep its false
// alarms for all three at alpha: Holm multiplies the smallest p by 3.
TEST(CompareFamily, HolmKeepsTheWholeComparisonAtAlpha) {
  const auto base = cells({{"none", {10000, 10100, 9900, 10050}},
                           {"full", {20000, 20100, 19900, 20050}},
                           {"rt", {30000, 30100, 29900, 30050}}});
  const auto cand = cells({{"none", {13000, 13100, 12900, 13050}},
                           {"full", {26000, 26100, 25900, 26050}},
                           {"rt", {39000, 39100, 38900, 39050}}});
  CompareOptions o = p99_only();
  o.test = CompareTest::kRank;
  Comparison c;
  std::string error;
  ASSERT_TRUE(compare(base, cand, o, &c, &error)) << error;
  EXPECT_EQ(c.tests, 3u);
  for (const char* m : {"none", "full", "rt"}) {
    const auto& mc = p99_of(c, m);
    EXPECT_NEAR(*mc.p_value, 2.0 / 70, 1e-12) << m;
    EXPECT_NEAR(*mc.p_adjusted, 3 * 2.0 / 70, 1e-12) << m;
    EXPECT_EQ(mc.verdict, Verdict::kNoise) << m;
    // 4 rounds can never pass Holm's first step at 0.05 / 3: the verdict
    // says so, and that 5 rounds (smallest p 2/252) can.
    EXPECT_NE(mc.why.find("is not below alpha / 3 tests"), std::string::npos) << mc.why;
    EXPECT_NE(mc.why.find("; 5 can"), std::string::npos) << mc.why;
  }
  EXPECT_FALSE(c.failed());
  EXPECT_NE(format_comparison(c).find("Holm's adjustment over its 3 tests"), std::string::npos)
      << format_comparison(c);
  // --correction none: each test alone at 0.05, three regressions.
  o.family_wise = false;
  ASSERT_TRUE(compare(base, cand, o, &c, &error)) << error;
  for (const char* m : {"none", "full", "rt"})
    EXPECT_EQ(p99_of(c, m).verdict, Verdict::kRegressed) << m;
  EXPECT_TRUE(c.failed());
}

// Holm's step-down values: sorted p_(1) <= p_(2) <= p_(3) become 3 p_(1),
// max(that, 2 p_(2)), max(that, p_(3)); a clear regression stays one.
TEST(CompareFamily, HolmStepDownValues) {
  const auto base = cells({{"none", {10000, 10100, 9900, 10050, 9950, 10020, 10080, 9970}},
                           {"full", {20000, 20100, 19900, 20050}},
                           {"rt", {30000, 30100, 29900, 30050}}});
  const auto cand = cells({{"none", {13000, 13100, 12900, 13050, 12950, 13020, 13080, 12970}},
                           {"full", {26000, 26100, 25900, 26050}},
                           {"rt", {30010, 30110, 29910, 29990}}});
  CompareOptions o = p99_only();
  o.test = CompareTest::kRank;
  Comparison c;
  std::string error;
  ASSERT_TRUE(compare(base, cand, o, &c, &error)) << error;
  const double p_none = 2.0 / 12870;  // 8 vs 8, separated: 2 / C(16, 8)
  const double p_full = 2.0 / 70;
  const double p_rt = *p99_of(c, "rt").p_value;
  ASSERT_GT(p_rt, p_full);
  EXPECT_NEAR(*p99_of(c, "none").p_value, p_none, 1e-12);
  EXPECT_NEAR(*p99_of(c, "none").p_adjusted, 3 * p_none, 1e-12);
  EXPECT_NEAR(*p99_of(c, "full").p_adjusted, 2 * p_full, 1e-12);
  EXPECT_NEAR(*p99_of(c, "rt").p_adjusted, std::min(1.0, std::max(2 * p_full, p_rt)), 1e-12);
  EXPECT_EQ(p99_of(c, "none").verdict, Verdict::kRegressed);
  EXPECT_EQ(p99_of(c, "full").verdict, Verdict::kNoise);
  EXPECT_EQ(p99_of(c, "rt").verdict, Verdict::kOk);
  EXPECT_NE(p99_of(c, "none").why.find("Holm-adjusted over 3 tests 0.000466 < 0.05"),
            std::string::npos)
      << p99_of(c, "none").why;
}

// Welch's intervals are simultaneous under the correction: at 1 - alpha /
// tests, and the table's header says which level.
TEST(CompareFamily, WelchIntervalsAtTheCorrectedLevel) {
  const auto base = rounds({10000, 10100, 9900, 10000});
  const auto cand = rounds({13000, 13100, 12900, 13000});
  Comparison one, three;
  std::string error;
  CompareOptions o = welch();
  o.metrics = {Metric::kP99};
  ASSERT_TRUE(compare(base, cand, o, &one, &error));
  ASSERT_TRUE(compare(base, cand, welch(), &three, &error));  // p99, max, throughput
  EXPECT_EQ(three.tests, 3u);
  EXPECT_NEAR(three.alpha_each, 0.05 / 3, 1e-12);
  const auto& a = only(one, Metric::kP99);
  const auto& b = only(three, Metric::kP99);
  EXPECT_LT(*b.ci_low_pct, *a.ci_low_pct);  // wider
  EXPECT_GT(*b.ci_high_pct, *a.ci_high_pct);
  EXPECT_NE(format_comparison(one).find("| 95% CI |"), std::string::npos);
  EXPECT_NE(format_comparison(three).find("| 98.3% CI |"), std::string::npos)
      << format_comparison(three);
}

TEST(CompareFamily, ParseCorrection) {
  CompareOptions o;
  std::string error;
  EXPECT_TRUE(o.family_wise);
  EXPECT_TRUE(parse_correction("none", &o, &error));
  EXPECT_FALSE(o.family_wise);
  EXPECT_TRUE(parse_correction("holm", &o, &error));
  EXPECT_TRUE(o.family_wise);
  EXPECT_FALSE(parse_correction("bonferroni", &o, &error));
  EXPECT_NE(error.find("holm or none"), std::string::npos) << error;
}

TEST(CompareVerdicts, ParseTest) {
  CompareOptions o;
  std::string error;
  ASSERT_TRUE(parse_test("auto", &o, &error));
  EXPECT_EQ(o.test, CompareTest::kAuto);
  ASSERT_TRUE(parse_test("welch", &o, &error));
  EXPECT_EQ(o.test, CompareTest::kWelch);
  ASSERT_TRUE(parse_test("rank", &o, &error));
  EXPECT_EQ(o.test, CompareTest::kRank);
  EXPECT_FALSE(parse_test("t", &o, &error));
  EXPECT_NE(error.find("auto, rank or welch"), std::string::npos);
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
  CompareOptions o = welch();
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
