// Ingest of real rt-tests 2.4 output captured on the development VM
// (tests/golden/cyclictest-2.4-*: `cyclictest -m -q -p 80 -a 1 -t 1 -i 1000
// -l 2000 --json`, the same with -N, and `-t 2 -h 200 --json` with its
// histogram text), the cyclictest 2.7 histogram style (no "# Total:", no
// empty buckets), and pb-cyclictest's own JSON and text.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pb/report/readers.h"
#include "report_test_util.h"

namespace pb::report {
namespace {

using pb::testing::golden_path;
using pb::testing::read_all;

Record read_one(const std::string& file, Detected want) {
  const std::string path = golden_path(file);
  const std::string text = read_all(path);
  EXPECT_EQ(detect(text), want) << file;
  std::vector<Record> out;
  std::string error;
  EXPECT_TRUE(read_result(text, path, "lbl", &out, &error)) << error;
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? Record{} : out.front();
}

TEST(IngestCyclictestJson, WithoutHistogramKeepsMinAvgMax) {
  const Record m = read_one("cyclictest-2.4-t1.json", Detected::kCyclictestJson);
  EXPECT_EQ(m.format, SourceFormat::kCyclictestJson);
  EXPECT_EQ(m.tool, "cyclictest 2.40");  // from the "rt_test_version:" key, stray colon and all
  EXPECT_EQ(m.label, "vm");
  EXPECT_EQ(m.kernel, "6.18.44-fc-v669");
  EXPECT_EQ(m.host_model, "dynamic");  // "#1 SMP PREEMPT_DYNAMIC @0"
  EXPECT_EQ(m.model, "host");
  EXPECT_EQ(m.workload, "cyclictest");
  EXPECT_FALSE(m.load.has_value());
  EXPECT_EQ(m.count, 2000u);
  EXPECT_EQ(m.min_ns, 7'000);
  EXPECT_EQ(m.max_ns, 4'001'000);
  EXPECT_DOUBLE_EQ(m.mean_ns, 26'100);
  EXPECT_FALSE(m.has_histogram);
  EXPECT_FALSE(m.missed.has_value());  // cyclictest does not count them
  EXPECT_FALSE(metric_value(m, Metric::kP99).has_value());
  EXPECT_EQ(*metric_value(m, Metric::kMax), 4'001'000);
  EXPECT_FALSE(metric_value(m, Metric::kThroughput).has_value());
}

TEST(IngestCyclictestJson, NanosecondResolution) {
  const Record m = read_one("cyclictest-2.4-t1-ns.json", Detected::kCyclictestJson);
  EXPECT_EQ(m.count, 500u);
  EXPECT_EQ(m.min_ns, 9'878);
  EXPECT_EQ(m.max_ns, 40'429);
  EXPECT_DOUBLE_EQ(m.mean_ns, 18'942.35);
}

TEST(IngestCyclictestJson, HistogramTwoThreadsWithOverflows) {
  const Record m = read_one("cyclictest-2.4-t2-h200.json", Detected::kCyclictestJson);
  ASSERT_TRUE(m.has_histogram);
  EXPECT_EQ(m.count, 4000u);              // 2 x 2000 cycles
  EXPECT_EQ(m.histogram.count(), 4000u);  // 2 x (1992 in buckets + 8 beyond -h 200)
  EXPECT_EQ(m.ceiling_ns, 200'000);       // -h 200 from the command line
  EXPECT_EQ(m.min_ns, 6'000);
  EXPECT_EQ(m.max_ns, 5'833'000);
  EXPECT_EQ(m.histogram.max(), 5'833'000);
  // 16 of 4000 wakeups lie beyond the histogram: p99 is inside, p99.9 is not.
  ASSERT_TRUE(metric_value(m, Metric::kP99).has_value());
  EXPECT_LT(*metric_value(m, Metric::kP99), 200'000);
  EXPECT_EQ(static_cast<int64_t>(*metric_value(m, Metric::kP99)) % 1000,
            0);  // whole µs, as cyclictest
  EXPECT_FALSE(metric_value(m, Metric::kP999).has_value());
}

TEST(IngestHistogramText, SameRunAsItsJson) {
  const Record j = read_one("cyclictest-2.4-t2-h200.json", Detected::kCyclictestJson);
  const Record t = read_one("cyclictest-2.4-t2-h200.txt", Detected::kHistogramText);
  EXPECT_EQ(t.format, SourceFormat::kHistogramText);
  EXPECT_EQ(t.label, "lbl");  // the text carries no machine: the caller's label
  EXPECT_EQ(t.kernel, "unknown");
  EXPECT_TRUE(t.histogram == j.histogram);
  EXPECT_EQ(t.count, j.count);
  EXPECT_EQ(t.min_ns, j.min_ns);
  EXPECT_EQ(t.max_ns, j.max_ns);
  EXPECT_EQ(t.ceiling_ns, 200'000);  // 200 bucket lines (0..199)
  for (const Metric m : {Metric::kP50, Metric::kP90, Metric::kP99, Metric::kP999}) {
    EXPECT_EQ(metric_value(t, m), metric_value(j, m)) << metric_name(m);
  }
  EXPECT_EQ(t.mean_ns, (28'000.0 + 23'000.0) / 2);  // "# Avg Latencies:" (integer µs)
}

TEST(IngestHistogramText, OlderSmallHistogram) {
  const Record m = read_one("cyclictest-2.4-h20.txt", Detected::kHistogramText);
  EXPECT_EQ(m.count, 200u);  // # Total: 133 + # Histogram Overflows: 67
  EXPECT_EQ(m.ceiling_ns, 20'000);
  EXPECT_EQ(m.min_ns, 11'000);
  EXPECT_EQ(m.max_ns, 713'000);
  EXPECT_TRUE(metric_value(m, Metric::kP50).has_value());
  EXPECT_FALSE(metric_value(m, Metric::kP90).has_value());  // beyond the 20 µs range
}

// rt-tests 2.7 dropped "# Total:" and the empty buckets: the same data must
// read the same.
TEST(IngestHistogramText, Cyclictest27StyleWithoutTotalAndEmptyBuckets) {
  const std::string full = read_all(golden_path("cyclictest-2.4-t2-h200.txt"));
  std::string sparse;
  for (const std::string& line : pb::testing::split_lines(full)) {
    if (line.rfind("# Total:", 0) == 0) continue;
    const size_t counts = line.find(' ');
    if (!line.empty() && line[0] != '#' && counts != std::string::npos &&
        line.find_first_not_of("0 \t", counts) == std::string::npos) {
      continue;  // an empty bucket
    }
    sparse += line + "\n";
  }
  ASSERT_LT(sparse.size(), full.size() / 2);
  std::vector<Record> a, b;
  std::string error;
  ASSERT_TRUE(read_histogram_text(full, "full", "x", &a, &error)) << error;
  ASSERT_TRUE(read_histogram_text(sparse, "sparse", "x", &b, &error)) << error;
  EXPECT_TRUE(a[0].histogram == b[0].histogram);
  EXPECT_EQ(a[0].count, b[0].count);
  EXPECT_EQ(a[0].max_ns, b[0].max_ns);
  // Without the empty buckets the range is only known up to the last
  // non-empty one: never wider than the real one.
  EXPECT_LE(b[0].ceiling_ns, a[0].ceiling_ns);
}

TEST(IngestHistogramText, HistofallColumnIsNotAThread) {
  // --histofall: a total column after the threads; Min/Avg have none.
  const std::string text =
      "# Histogram\n000010 000002\t000001\t000003\n000011 000001\t000004\t000005\n"
      "# Total: 000000003 000000005 000000008\n# Min Latencies: 00010 00010\n"
      "# Avg Latencies: 00010 00010\n# Max Latencies: 00011 00011 00011\n"
      "# Histogram Overflows: 00000 00000 00000\n";
  std::vector<Record> out;
  std::string error;
  ASSERT_TRUE(read_histogram_text(text, "t", "x", &out, &error)) << error;
  EXPECT_EQ(out[0].count, 8u);
}

TEST(IngestPbCyclic, JsonAndItsText) {
  const Record j = read_one("report_pbcyclic-vm.json", Detected::kPbCyclic);
  EXPECT_EQ(j.format, SourceFormat::kPbCyclic);
  EXPECT_EQ(j.workload, "pb-cyclictest/nanosleep");
  EXPECT_EQ(j.label, "vm");
  EXPECT_EQ(j.kernel, "6.18.44-fc-v669");
  EXPECT_EQ(j.count, 300u);
  ASSERT_TRUE(j.missed.has_value());
  EXPECT_EQ(*j.missed, 0u);
  EXPECT_EQ(j.ceiling_ns, 0);  // the full log-linear histogram: no range limit
  EXPECT_TRUE(metric_value(j, Metric::kP9999).has_value());
  const Record t = read_one("report_pbcyclic-vm-h100.txt", Detected::kHistogramText);
  EXPECT_EQ(t.count, 300u);
  ASSERT_TRUE(t.missed.has_value());  // from the "# T: ... Missed:" line of earlier versions
  EXPECT_EQ(*t.missed, 0u);
  EXPECT_EQ(t.max_ns / 1000, j.max_ns / 1000);
}

TEST(IngestPbCyclic, MissedPeriodsLine) {
  // pb-cyclictest's current text: "# Missed Periods:", one column per thread.
  const Record t = read_one("report_pbcyclic-vm-t2-h100.txt", Detected::kHistogramText);
  EXPECT_EQ(t.count, 599u);  // -l 300: the first thread done ends the run
  ASSERT_TRUE(t.missed.has_value());
  EXPECT_EQ(*t.missed, 24u + 21u);
  EXPECT_EQ(t.max_ns, 139'000);
}

TEST(IngestRun, CellsBecomeMeasurements) {
  const std::string path = golden_path("report_run-vm1.json");
  std::vector<Record> out;
  std::string error;
  ASSERT_TRUE(read_result(read_all(path), path, "", &out, &error)) << error;
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(out[0].label, "vm1");
  EXPECT_EQ(out[0].kernel, "6.1.0-rt");
  EXPECT_EQ(out[0].host_model, "rt");
  EXPECT_EQ(out[0].model, "none");
  EXPECT_EQ(out[0].workload, "kernel-path");
  EXPECT_EQ(out[0].load, 0.5);
  EXPECT_EQ(out[1].round, 1);
  EXPECT_EQ(out[0].count, 1000u);
  EXPECT_EQ(out[0].missed, 3u);
  EXPECT_DOUBLE_EQ(*out[0].ops_per_s, 10000);
}

TEST(IngestCollect, DirectoryWalkLabelsAndSkips) {
  const std::string dir = pb::testing::scratch_dir("walk");
  pb::testing::write_text(dir + "/host1/hist.txt", read_all(golden_path("cyclictest-2.4-h20.txt")));
  pb::testing::write_text(dir + "/host2/hist.txt", read_all(golden_path("cyclictest-2.4-h20.txt")));
  pb::testing::write_text(dir + "/host1/sysinfo.json", R"({"schema_version": 1, "hostname": "h"})");
  pb::testing::write_text(dir + "/host1/log.txt", "starting run\nall good\n");
  pb::testing::write_text(dir + "/host2/plot.png", "\x89PNG");
  std::vector<Record> out;
  std::vector<std::string> notes;
  std::string error;
  ASSERT_TRUE(collect({dir}, &out, &notes, &error)) << error;
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].label, "host1/hist");
  EXPECT_EQ(out[1].label, "host2/hist");
  EXPECT_EQ(notes.size(), 2u);  // sysinfo.json and log.txt; plot.png is not looked at

  // Named directly, a non-result is an error.
  EXPECT_FALSE(collect({dir + "/host1/sysinfo.json"}, &out, &notes, &error));
  EXPECT_NE(error.find("machine fingerprint"), std::string::npos) << error;
  // A broken .json in a directory is an error (a truncated result), not skipped.
  pb::testing::write_text(dir + "/host2/run.json",
                          R"({"schema": "preemptbench.run/1", "cells": [)");
  EXPECT_FALSE(collect({dir}, &out, &notes, &error));
  EXPECT_NE(error.find("run.json"), std::string::npos) << error;
}

}  // namespace
}  // namespace pb::report
