// pb-cyclictest's text and JSON outputs. The thread line and the histogram
// block are held against text that rt-tests' cyclictest 2.4 printed on this
// kind of machine (tests/golden/), fed with the same figures.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "output.h"

namespace pb::cyclic {
namespace {

std::string read_golden(const std::string& name) {
  std::ifstream in(std::string(PB_SOURCE_DIR) + "/tests/golden/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CyclicOutput, ThreadLineMatchesCyclictest) {
  LineFigures f{0, 3987, 80, 1000, 100, 12, 34, 37, 172};
  EXPECT_EQ(format_thread_line(f, false),
            "T: 0 ( 3987) P:80 I:1000 C:    100 Min:     12 Act:   34 Avg:   37 Max:     172");
  LineFigures g{1, 4018, 80, 1500, 67, 9, 12, 24, 137};
  EXPECT_EQ(format_thread_line(g, false),
            "T: 1 ( 4018) P:80 I:1500 C:     67 Min:      9 Act:   12 Avg:   24 Max:     137");
}

TEST(CyclicOutput, ThreadLineInNanosecondsMatchesCyclictest) {
  LineFigures f{0, 9508, 80, 1000, 20, 7433, 9899, 15820, 33737};
  EXPECT_EQ(
      format_thread_line(f, true),
      "T: 0 ( 9508) P:80 I:1000 C:     20 Min:   7433 Act:    9899 Avg:   15820 Max:   33737");
}

TEST(CyclicOutput, ThreadLineBeforeFirstCycleShowsCyclictestsInitialMin) {
  ThreadPlan plan;
  plan.index = 1;
  plan.priority = 80;
  plan.interval_ns = 1'500'000;
  LiveStats live;
  EXPECT_EQ(format_thread_line(figures_from_live(plan, live, false), false),
            "T: 1 (    0) P:80 I:1500 C:      0 Min:1000000 Act:    0 Avg:    0 Max:       0");
}

// The figures behind tests/golden/cyclictest-2.4-h20.txt: 200 cycles, 133 in
// 20 one-microsecond buckets, 67 overflows at the listed cycle numbers.
RunResult golden_h20_run() {
  ThreadResult r;
  r.plan.index = 0;
  r.linear.assign(20, 0);
  const std::pair<int, uint64_t> counts[] = {{11, 2},  {12, 3},  {13, 13}, {14, 11}, {15, 20},
                                             {16, 25}, {17, 20}, {18, 24}, {19, 15}};
  for (auto [b, n] : counts) r.linear[static_cast<size_t>(b)] = n;
  r.linear_overflow = 67;
  r.overflow_cycles = {0, 1, 4, 5, 12, 13, 16, 19, 21, 25, 26, 30, 31, 32, 33, 38, 42, 45, 46, 50};
  r.cycles = 200;
  r.min_ns = 11'400;
  r.max_ns = 713'900;
  r.sum_ns = 200 * 25'300;
  RunResult run;
  run.threads.push_back(r);
  return run;
}

TEST(CyclicOutput, HistogramMatchesCyclictest) {
  Options o;
  o.histogram = 20;
  std::string golden = read_golden("cyclictest-2.4-h20.txt");
  ASSERT_FALSE(golden.empty());
  // The golden file starts with cyclictest's dma-latency line; the block follows.
  golden = golden.substr(golden.find("# Histogram"));
  EXPECT_EQ(format_histogram(golden_h20_run(), o), golden);
}

TEST(CyclicOutput, HistofallAddsTotalsWhereCyclictestDoes) {
  // cyclictest 2.4, -H 5 -N with two threads: totals on Total, Max and
  // Overflows, none on Min and Avg.
  Options o;
  o.histogram = 2;
  o.histofall = true;
  o.nsecs = true;
  RunResult run;
  for (int i = 0; i < 2; ++i) {
    ThreadResult r;
    r.plan.index = i;
    r.linear = {1, static_cast<uint64_t>(i)};
    r.linear_overflow = 3;
    r.overflow_cycles = {2, 3};
    r.cycles = 5;
    r.min_ns = 1;
    r.max_ns = 184'258 + i;
    r.sum_ns = 5 * 41'779;
    run.threads.push_back(r);
  }
  EXPECT_EQ(format_histogram(run, o),
            "# Histogram\n"
            "000000 000001\t000001\t000002\n"
            "000001 000000\t000001\t000001\n"
            "# Total: 000000001 000000002 000000003\n"
            "# Min Latencies: 00001 00001\n"
            "# Avg Latencies: 41779 41779\n"
            "# Max Latencies: 184258 184259 184259\n"
            "# Histogram Overflows: 00003 00003 00006\n"
            "# Histogram Overflow at cycle number:\n"
            "# Thread 0: 00002 00003 # 00001 others\n"
            "# Thread 1: 00002 00003 # 00001 others\n"
            "\n");
}

TEST(CyclicOutput, CommentLinesHaveCyclictestsShapeAndRunIndependentKeys) {
  // One line per statistic, one column per thread, as cyclictest's
  // "# Max Latencies:": the key before the colon never holds a thread id,
  // pid or time, so parsers that make metrics of "# KEY: VALUE" lines get
  // the same keys on every run.
  RunResult run;
  for (int t = 0; t < 2; ++t) {
    ThreadResult r;
    r.plan.index = t;
    r.tid = 4242 + t;
    for (int i = 1; i <= 100; ++i) r.histogram.record((i + t) * 1000);
    r.missed = 3 * t;
    run.threads.push_back(r);
  }
  EXPECT_EQ(format_comment_lines(run, false),
            "# P50 Latencies: 00050 00051\n"
            "# P90 Latencies: 00090 00091\n"
            "# P99 Latencies: 00099 00100\n"
            "# P99.9 Latencies: 00100 00101\n"
            "# P99.99 Latencies: 00100 00101\n"
            "# Missed Periods: 00000 00003\n");
  run.partial = true;
  run.stop = StopReason::kSignal;
  run.elapsed_ns = 1'234'567'890;
  const std::string partial = format_comment_lines(run, true);
  long a = 0, b = 0;
  ASSERT_EQ(std::sscanf(partial.c_str(), "# P50 Latencies: %ld %ld\n", &a, &b), 2) << partial;
  EXPECT_NEAR(a, 50'000, 500) << "ns with -N (the histogram's bucket bound, within 1 %)";
  EXPECT_NEAR(b, 51'000, 510);
  EXPECT_NE(partial.find("\n# Partial Run Seconds: 1.235\n"), std::string::npos) << partial;
}

TEST(CyclicOutput, StatusBlockIsCyclictests) {
  // rt-tests' sighand(): what SIGUSR1 prints and SIGUSR2 writes.
  const std::vector<LineFigures> lines = {{0, 11331, 80, 1000, 994, 18, 34, 50, 5384}};
  EXPECT_EQ(format_status_block(lines, false),
            "#---------------------------\n"
            "# cyclictest current status:\n"
            "T: 0 (11331) P:80 I:1000 C:    994 Min:     18 Act:   34 Avg:   50 Max:    5384\n"
            "#---------------------------\n");
}

TEST(CyclicOutput, VerboseLineIsCyclictests) {
  // Captured from cyclictest 2.4 -v: "%8d:%8lu:%8ld".
  EXPECT_EQ(format_verbose_line(0, 0, 20), "       0:       0:      20\n");
  EXPECT_EQ(format_verbose_line(1, 123456, 4026), "       1:  123456:    4026\n");
  EXPECT_EQ(format_verbose_line(0, 123456789, 12), "       0:123456789:      12\n");
}

TEST(CyclicOutput, SpikeListIsCyclictests) {
  RunResult run;
  EXPECT_EQ(format_spikes(run, false), "") << "no spike, no list";
  run.spikes = {{0, 125'400, 5'000'000'000'123}, {1, 99'000, 5'000'100'000'000}};
  run.spike_count = 7;
  EXPECT_EQ(format_spikes(run, false),
            "\n"
            "T: 0 Spike:     125: TS:   5000000000\n"
            "T: 1 Spike:      99: TS:   5000100000\n"
            "spikes = 7\n\n");
}

TEST(CyclicOutput, JsonIsASupersetOfCyclictests) {
  RunResult run = golden_h20_run();
  run.threads[0].histogram.record(12'000);
  run.threads[0].plan.cpu = 1;
  run.start_wall_s = 0;
  run.end_wall_s = 1;
  run.partial = true;
  run.stop = StopReason::kSignal;
  Options o;
  o.histogram = 20;
  o.cmdline = "pb-cyclictest -h 20";
  const nlohmann::json machine = {{"hostname", "h"}};
  const auto doc = nlohmann::json::parse(to_json(run, o, machine, 0).dump());
  // cyclictest's keys, with its quirky spelling.
  for (const char* key : {"file_version", "cmdline:", "rt_test_version:", "start_time", "end_time",
                          "return_code", "sysinfo", "num_threads", "resolution_in_ns", "thread"}) {
    EXPECT_TRUE(doc.contains(key)) << key;
  }
  EXPECT_EQ(doc["start_time"], "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(doc["cmdline:"], "pb-cyclictest -h 20");
  const auto& t = doc["thread"]["0"];
  for (const char* key : {"histogram", "cycles", "min", "max", "avg", "cpu", "node"}) {
    EXPECT_TRUE(t.contains(key)) << key;
  }
  EXPECT_EQ(t["histogram"]["16"], 25);
  EXPECT_FALSE(t["histogram"].contains("0")) << "only non-empty buckets, as cyclictest";
  EXPECT_EQ(t["cycles"], 200);
  EXPECT_EQ(t["min"], 11);
  EXPECT_EQ(t["max"], 713);
  EXPECT_DOUBLE_EQ(t["avg"].get<double>(), 25.3);
  EXPECT_EQ(t["cpu"], 1);
  // Our additions.
  EXPECT_EQ(doc["schema"], "preemptbench.cyclic/1");
  EXPECT_EQ(doc["partial"], true);
  EXPECT_EQ(doc["stopped_by"], "signal");
  EXPECT_EQ(doc["machine"]["hostname"], "h");
  for (const char* key : {"p50", "p90", "p99", "p999", "p9999", "missed"}) {
    EXPECT_TRUE(t.contains(key)) << key;
  }
  EXPECT_EQ(t["p50"], 12);
}

TEST(CyclicOutput, JsonKeepsCyclictestsKeyOrder) {
  Options o;
  const std::string text = to_json(golden_h20_run(), o, nlohmann::json::object(), 0).dump();
  EXPECT_LT(text.find("\"file_version\""), text.find("\"cmdline:\""));
  EXPECT_LT(text.find("\"cmdline:\""), text.find("\"thread\""));
  EXPECT_LT(text.find("\"thread\""), text.find("\"schema\""));
}

}  // namespace
}  // namespace pb::cyclic
