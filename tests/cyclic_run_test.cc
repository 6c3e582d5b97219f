// pb-cyclictest end to end: short real runs read back through their JSON,
// bad input, and Ctrl-C. Assertions are about what happened (cycles counted,
// keys present, exit codes), never about how fast.
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pb/sys.h"
#include "tool_runner.h"

namespace {

using pb::testing::run_tool;
using pb::testing::slurp;
using pb::testing::temp_path;

// The highest CPU this process may use: keeps CPU 0 for the system.
std::string test_cpu() {
  cpu_set_t set;
  pb::sys::get_affinity(0, &set);
  int last = 0;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) last = i;
  }
  return std::to_string(last);
}

nlohmann::json read_json(const std::string& path) {
  const std::string text = slurp(path);
  EXPECT_FALSE(text.empty()) << path;
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

void expect_complete_thread(const nlohmann::json& t, uint64_t cycles) {
  EXPECT_EQ(t["cycles"].get<uint64_t>(), cycles);
  EXPECT_EQ(t["latency_histogram"]["count"].get<uint64_t>(), cycles);
  EXPECT_LE(t["min"].get<int64_t>(), t["p50"].get<int64_t>());
  EXPECT_LE(t["p50"].get<int64_t>(), t["p99"].get<int64_t>());
  EXPECT_LE(t["p99"].get<int64_t>(), t["max"].get<int64_t>());
  EXPECT_TRUE(t["missed"].is_number_unsigned());
}

TEST(CyclicRun, ShortRunWithoutRealTimeWritesCompleteJson) {
  const std::string json = temp_path("plain.json");
  const auto r = run_tool(
      "pb-cyclictest", {"-t1", "-a", test_cpu(), "-i", "200", "-l", "300", "-q", "--json=" + json});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = read_json(json);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["schema"], "preemptbench.cyclic/1");
  EXPECT_EQ(doc["partial"], false);
  EXPECT_EQ(doc["stopped_by"], "loops");
  EXPECT_EQ(doc["num_threads"], 1);
  EXPECT_TRUE(doc["machine"].is_object());
  expect_complete_thread(doc["thread"]["0"], 300);
  // Our comment lines, then cyclictest's quiet summary line, last.
  const std::regex tail(
      R"(# Missed Periods: \d{5}\n)"
      R"(T: 0 \(\s*\d+\) P: 0 I:200 C:    300 Min:\s*\d+ Act:\s*\d+ Avg:\s*\d+ Max:\s*\d+\n$)");
  EXPECT_TRUE(std::regex_search(r.out, tail)) << r.out;
  ::unlink(json.c_str());
}

TEST(CyclicRun, ShortRealTimeRunLocksMemoryAndCountsEveryCycle) {
  if (pb::sys::can_use_fifo(80) != 1)
    GTEST_SKIP() << "needs SCHED_FIFO priority 80 (root or CAP_SYS_NICE)";
  const std::string json = temp_path("rt.json");
  const auto r = run_tool("pb-cyclictest", {"-m", "-p", "80", "-t1", "-a", test_cpu(), "-i", "500",
                                            "-l", "400", "-q", "-h", "100", "--json=" + json});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = read_json(json);
  ASSERT_FALSE(doc.is_discarded());
  const auto& t = doc["thread"]["0"];
  expect_complete_thread(t, 400);
  EXPECT_EQ(t["priority"], 80);
  // -h: every cycle is in a bucket or an overflow.
  uint64_t in_buckets = 0;
  for (const auto& [bucket, n] : t["histogram"].items()) in_buckets += n.get<uint64_t>();
  EXPECT_EQ(in_buckets + t["histogram_overflows"].get<uint64_t>(), 400u);
  EXPECT_NE(r.out.find("# Histogram\n"), std::string::npos);
  EXPECT_FALSE(std::regex_search(r.out, std::regex("(^|\n)T: 0 \\(")))
      << "-q with -h prints no thread line (cyclictest)";
  ::unlink(json.c_str());
}

TEST(CyclicRun, EveryWakeupModeMeasures) {
  for (const char* mode : {"nanosleep", "timerfd", "uring", "signal", "futex"}) {
    SCOPED_TRACE(mode);
    const std::string json = temp_path(std::string(mode) + ".json");
    const auto r =
        run_tool("pb-cyclictest", {"-t1", "-a", test_cpu(), "-i", "300", "-l", "100", "-q",
                                   std::string("--mode=") + mode, "--json=" + json});
    if (std::string(mode) == "uring" && r.exit_code == 2 &&
        r.err.find("io_uring is not available") != std::string::npos) {
      std::printf("[  SKIPPED ] uring mode: io_uring unavailable here (%s)\n", r.err.c_str());
      continue;
    }
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto doc = read_json(json);
    ASSERT_FALSE(doc.is_discarded());
    EXPECT_EQ(doc["mode"], mode);
    expect_complete_thread(doc["thread"]["0"], 100);
    ::unlink(json.c_str());
  }
}

TEST(CyclicRun, InterruptLeavesValidPartialJson) {
  const std::string json = temp_path("sigint.json");
  const auto r =
      run_tool("pb-cyclictest", {"-t1", "-a", test_cpu(), "-i", "1000", "-q", "--json=" + json},
               SIGINT, 500);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = read_json(json);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["partial"], true);
  EXPECT_EQ(doc["stopped_by"], "signal");
  const auto& t = doc["thread"]["0"];
  EXPECT_EQ(t["latency_histogram"]["count"], t["cycles"]);
  EXPECT_NE(r.out.find("\n# Partial Run Seconds: "), std::string::npos) << r.out;
  ::unlink(json.c_str());
}

TEST(CyclicRun, BreaktraceStopsAtTheFirstLatencyAboveTheThreshold) {
  const std::string json = temp_path("break.json");
  const auto r = run_tool("pb-cyclictest", {"-t1", "-a", test_cpu(), "-i", "200", "-l", "2000",
                                            "-q", "-b", "1", "--json=" + json});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = read_json(json);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_NE(r.out.find("# Thread Ids:"), std::string::npos);
  const auto& t = doc["thread"]["0"];
  if (doc["stopped_by"] == "breaktrace") {
    EXPECT_GT(doc["break"]["value"].get<int64_t>(), 1);
    EXPECT_EQ(doc["break"]["value"], t["max"]) << "the breaking sample is the last and the largest";
    EXPECT_NE(r.out.find("# Break value:"), std::string::npos);
  } else {
    // No break: then no sample was above 1 us.
    EXPECT_EQ(doc["stopped_by"], "loops");
    EXPECT_LE(t["max"].get<int64_t>(), 1);
  }
  ::unlink(json.c_str());
}

TEST(CyclicRun, HistfileGetsTheHistogramBlock) {
  const std::string hist = temp_path("hist.txt");
  const auto r = run_tool("pb-cyclictest", {"-t1", "-a", test_cpu(), "-i", "200", "-l", "50", "-q",
                                            "-h", "10", "--histfile=" + hist});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = slurp(hist);
  EXPECT_EQ(text.rfind("# Histogram\n000000 ", 0), 0u) << text;
  EXPECT_NE(text.find("# Histogram Overflow at cycle number:\n# Thread 0:"), std::string::npos);
  EXPECT_EQ(r.out.find("# Histogram"), std::string::npos) << "not on stdout as well";
  ::unlink(hist.c_str());
}

TEST(CyclicRun, LiveDisplayShowsProgressAndThreadLines) {
  const auto r = run_tool("pb-cyclictest", {"-t1", "-a", test_cpu(), "-i", "200", "-l", "200"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // cyclictest's block: policy line, a blank line (elapsed time only on a
  // terminal), the thread lines; the final block ends the output.
  EXPECT_NE(r.out.find("policy: other/other: loadavg: "), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(
      r.out,
      std::regex(
          R"(\npolicy: other/other: loadavg: [^\n]*\n\nT: 0 \(\s*\d+\) P: 0 I:200 C:    200 [^\n]*\n$)")))
      << "the final block shows the final count and ends the output: " << r.out;
}

TEST(CyclicRun, MissingRealTimePrivilegeSaysHowToGrantIt) {
  int uid = -1;
  if (::geteuid() == 0) {
    if (!std::getenv("PB_EMULATOR") || *std::getenv("PB_EMULATOR") == '\0')
      uid = 65534;  // nobody
    else
      GTEST_SKIP() << "cannot drop privileges under the emulator";
  } else if (pb::sys::can_use_fifo(80) == 1) {
    GTEST_SKIP() << "this user may use SCHED_FIFO: no way to test the refusal";
  }
  const auto r = run_tool("pb-cyclictest", {"-p", "80", "-t1", "-l", "10", "-q"}, 0, 0, 60, uid);
  if (r.exit_code == 126 || r.exit_code == 127)
    GTEST_SKIP() << "cannot run the tool as nobody here";
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("no permission for real-time priority 80"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("setcap cap_sys_nice+ep"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(CyclicRun, BadInputGetsOneMessageAndExitCode2) {
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  const Case cases[] = {
      {{"-i", "0"}, "-i"},
      {{"-i", "-100"}, "-i"},
      {{"--mode=warp"}, "warp"},
      {{"-p", "100"}, "-p"},
      {{"-a", "4095"}, "not online"},
      {{"--json=/nonexistent-dir/out.json"}, "/nonexistent-dir/out.json"},
      {{"--bogus"}, "--bogus"},
      {{"-D", "soon"}, "soon"},
  };
  for (const auto& c : cases) {
    const auto r = run_tool("pb-cyclictest", c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0];
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("terminate called"), std::string::npos);
    EXPECT_TRUE(r.out.empty()) << "nothing measured: " << r.out;
  }
}

}  // namespace
