// LatencySummary::of: the percentiles every report prints, from a histogram.
#include <gtest/gtest.h>

#include "pb/workloads/result.h"

namespace {

TEST(WorkloadResult, SummaryOfEmptyHistogramIsZero) {
  const pb::LatencyHistogram h;
  const auto s = pb::wl::LatencySummary::of(h, 3);
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.missed, 3u);
  EXPECT_EQ(s.min, 0);
  EXPECT_EQ(s.p50, 0);
  EXPECT_EQ(s.max, 0);
}

TEST(WorkloadResult, SummaryReadsTheHistogram) {
  pb::LatencyHistogram h;
  for (int64_t v = 1; v <= 1000; ++v) h.record(v * 1000);  // 1 us .. 1 ms
  const auto s = pb::wl::LatencySummary::of(h, 7);
  EXPECT_EQ(s.count, 1000u);
  EXPECT_EQ(s.missed, 7u);
  EXPECT_EQ(s.min, 1000);
  EXPECT_EQ(s.max, 1'000'000);
  EXPECT_EQ(s.p50, h.percentile(50));
  EXPECT_EQ(s.p90, h.percentile(90));
  EXPECT_EQ(s.p99, h.percentile(99));
  EXPECT_EQ(s.p999, h.percentile(99.9));
  EXPECT_LE(s.min, s.p50);
  EXPECT_LE(s.p50, s.p90);
  EXPECT_LE(s.p90, s.p99);
  EXPECT_LE(s.p99, s.p999);
  EXPECT_LE(s.p999, s.max);
  // Within the histogram's 1 % of the exact ranks.
  EXPECT_NEAR(static_cast<double>(s.p50), 500'000.0, 5'000.0);
  EXPECT_NEAR(static_cast<double>(s.p99), 990'000.0, 9'900.0);
}

}  // namespace
