// pb-cyclictest as a drop-in, end to end: -v's per-sample lines, -c 1,
// SIGUSR2's status file (and SIGUSR1, SIGALRM: the run goes on), the shape of
// our comment lines, and the argument lists of the tools that drive
// cyclictest (rteval, lkp-tests, mmtests, Linaro test-definitions, OSADL,
// Ubuntu checkbox, OPNFV yardstick) run beside rt-tests' cyclictest, with the
// line structure their parsers read compared line by line. Assertions are
// about what was printed and counted, never about how fast.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pb/sys.h"
#include "tool_runner.h"

extern char** environ;

namespace {

using pb::testing::run_tool;
using pb::testing::slurp;
using pb::testing::temp_path;

bool under_emulator() {
  const char* emu = std::getenv("PB_EMULATOR");
  return emu != nullptr && *emu != '\0';
}

// The highest CPU this process may use: keeps CPU 0 for the system.
int test_cpu() {
  cpu_set_t set;
  pb::sys::get_affinity(0, &set);
  int last = 0;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) last = i;
  }
  return last;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A child we can signal while it runs: output to files, through
// $PB_EMULATOR when set (our binaries only).
struct Child {
  pid_t pid = -1;
  std::string out_path, err_path;

  static Child spawn(const std::string& program, const std::vector<std::string>& args,
                     bool ours = true) {
    static int serial = 0;
    Child c;
    c.out_path = temp_path("child" + std::to_string(++serial) + ".out");
    c.err_path = temp_path("child" + std::to_string(serial) + ".err");
    std::vector<std::string> words;
    if (ours && under_emulator()) {
      std::istringstream ss(std::getenv("PB_EMULATOR"));
      for (std::string w; ss >> w;) words.push_back(w);
    }
    words.push_back(program);
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, c.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&fa, 2, c.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    if (posix_spawnp(&c.pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) c.pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return c;
  }

  // Waits up to `timeout_s`; returns the exit code, or -1 (killed: a failure).
  int wait(int timeout_s = 60) {
    int status = 0;
    for (int i = 0; i < timeout_s * 200; ++i) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      ::usleep(5000);
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    ADD_FAILURE() << "child did not finish within " << timeout_s << " s";
    return -1;
  }
  std::string out() const { return slurp(out_path); }
  std::string err() const { return slurp(err_path); }
  ~Child() {
    if (!out_path.empty()) ::unlink(out_path.c_str());
    if (!err_path.empty()) ::unlink(err_path.c_str());
  }
};

std::string pb_path() { return pb::testing::tool_path("pb-cyclictest"); }

std::string find_cyclictest() {
  for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/usr/sbin/"}) {
    const std::string p = std::string(dir) + "cyclictest";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(slurp(path), nullptr, /*allow_exceptions=*/false);
}

TEST(CyclicRunCompat, VerboseSamplesAreCyclictestsLines) {
  const std::string cpu = std::to_string(test_cpu());
  const auto r = run_tool("pb-cyclictest", {"-v", "-q", "-t1", "-a", cpu, "-i", "300", "-l", "40"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = lines_of(r.out);
  // cyclictest's -v preamble.
  EXPECT_NE(r.out.find("Max CPUs = "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nOnline CPUs = "), std::string::npos);
  EXPECT_NE(r.out.find("\nUsing 1 cpus.\n"), std::string::npos);
  EXPECT_NE(r.out.find("\nThread 0 using cpu " + cpu + ".\n"), std::string::npos);
  EXPECT_NE(r.out.find("\nThread 0 Interval: 800\n"), std::string::npos)
      << "cyclictest prints the interval plus the distance";
  // One "%8d:%8lu:%8ld" line per sample, in cycle order, none lost.
  const std::regex sample(R"(^ {7}0: {0,7}(\d+): {0,7}(\d+)$)");
  uint64_t expected_cycle = 0;
  for (const auto& line : lines) {
    std::smatch m;
    if (!std::regex_match(line, m, sample)) continue;
    ASSERT_EQ(line.size(), 26u) << line;
    EXPECT_EQ(std::stoull(m[1]), expected_cycle) << line;
    ++expected_cycle;
  }
  EXPECT_EQ(expected_cycle, 40u) << r.out;
  // -v -q: the thread line at the end, as cyclictest.
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex(R"(\nT: 0 \(\s*\d+\) P: 0 I:300 C:     40 [^\n]*\n$)")))
      << r.out;
}

TEST(CyclicRunCompat, OscopeReducesVerboseLinesToTheMaxOfEachGroup) {
  const std::string cpu = std::to_string(test_cpu());
  const auto r =
      run_tool("pb-cyclictest", {"-v", "-o", "4", "-t1", "-a", cpu, "-i", "300", "-l", "40"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::regex sample(R"(^ {7}0: {0,7}(\d+): {0,7}(\d+)$)");
  uint64_t groups = 0;
  for (const auto& line : lines_of(r.out)) {
    std::smatch m;
    if (!std::regex_match(line, m, sample)) continue;
    const uint64_t cycle = std::stoull(m[1]);
    EXPECT_GE(cycle, groups * 4) << line;
    EXPECT_LT(cycle, groups * 4 + 4) << "the cycle of its group's maximum: " << line;
    ++groups;
  }
  EXPECT_EQ(groups, 10u) << r.out;
  EXPECT_EQ(r.out.find("\nT: 0"), std::string::npos)
      << "-v without -q: no thread line, as cyclictest";
}

TEST(CyclicRunCompat, RealtimeClockMeasuresInEveryMode) {
  const std::string cpu = std::to_string(test_cpu());
  for (const char* mode : {"nanosleep", "timerfd", "uring", "signal", "futex"}) {
    SCOPED_TRACE(mode);
    const std::string json = temp_path(std::string("c1-") + mode + ".json");
    const auto r =
        run_tool("pb-cyclictest", {"-c", "1", "-q", "-t1", "-a", cpu, "-i", "300", "-l", "100",
                                   std::string("--mode=") + mode, "--json=" + json});
    if (std::string(mode) == "uring" && r.exit_code == 2 &&
        r.err.find("io_uring is not available") != std::string::npos) {
      std::printf("[  SKIPPED ] uring mode: io_uring unavailable here (%s)\n", r.err.c_str());
      continue;
    }
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto doc = read_json(json);
    ASSERT_FALSE(doc.is_discarded());
    EXPECT_EQ(doc["clock"], "realtime");
    EXPECT_EQ(doc["stopped_by"], "loops");
    EXPECT_EQ(doc["thread"]["0"]["cycles"], 100);
    EXPECT_EQ(doc["thread"]["0"]["latency_histogram"]["count"], 100);
    ::unlink(json.c_str());
  }
  const auto bad = run_tool("pb-cyclictest", {"-c", "2", "-l", "1"});
  EXPECT_EQ(bad.exit_code, 2) << "cyclictest reads past its two clocks with -c 2";
  EXPECT_NE(bad.err.find("-c"), std::string::npos) << bad.err;
}

TEST(CyclicRunCompat, RelativeTimersMeasure) {
  const std::string cpu = std::to_string(test_cpu());
  for (const char* flag : {"-r", "-s"}) {
    SCOPED_TRACE(flag);
    const std::string json = temp_path("rel.json");
    const auto r = run_tool(
        "pb-cyclictest", {flag, "-q", "-t1", "-a", cpu, "-i", "300", "-l", "50", "--json=" + json});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto doc = read_json(json);
    EXPECT_EQ(doc["thread"]["0"]["cycles"], 50);
    EXPECT_EQ(doc["thread"]["0"]["missed"], 0) << "a relative timer never misses a period";
    ::unlink(json.c_str());
  }
}

// SIGUSR2: cyclictest's status file, rewritten on each signal, the run goes
// on, the file is removed at the end. SIGUSR1 prints the status on stderr;
// SIGALRM (blocked in cyclictest) changes nothing.
TEST(CyclicRunCompat, StatusSignalsLeaveTheRunCompleteAndTheFileGone) {
  const std::string json = temp_path("usr2.json");
  Child c = Child::spawn(pb_path(), {"-q", "-t1", "-a", std::to_string(test_cpu()), "-i", "1000",
                                     "-D", "3", "--json=" + json});
  ASSERT_GT(c.pid, 0);
  // Under qemu-user the pid is the emulator's, which is the program's.
  const std::string file = "/dev/shm/cyclictest" + std::to_string(c.pid);
  auto read_status = [&]() {
    std::string text;
    for (int i = 0; i < 400; ++i) {
      ::usleep(5000);
      text = slurp(file);
      if (text.find("#---------------------------\n", 30) != std::string::npos) break;
    }
    return text;
  };
  ::usleep(800'000);
  ASSERT_EQ(::access(file.c_str(), F_OK), 0) << "the status file exists while the run does";
  EXPECT_TRUE(slurp(file).empty()) << "empty until the first SIGUSR2";
  ::kill(c.pid, SIGUSR2);
  const std::string first = read_status();
  const std::regex block(
      "^#---------------------------\n# cyclictest current status:\n"
      R"(T: 0 \(\s*\d+\) P: 0 I:1000 C:\s*(\d+) Min:\s*\d+ Act:\s*\d+ Avg:\s*\d+ Max:\s*\d+)"
      "\n#---------------------------\n$");
  std::smatch m1;
  ASSERT_TRUE(std::regex_match(first, m1, block)) << first;
  ::kill(c.pid, SIGALRM);
  ::kill(c.pid, SIGUSR1);
  ::usleep(400'000);
  ::kill(c.pid, SIGUSR2);
  std::string second;
  std::smatch m2;
  for (int i = 0; i < 50; ++i) {
    second = read_status();
    if (std::regex_match(second, m2, block) && m2[1] != m1[1]) break;
  }
  ASSERT_TRUE(std::regex_match(second, m2, block))
      << "rewritten from the start, no stale bytes: " << second;
  EXPECT_GT(std::stoull(m2[1]), std::stoull(m1[1]));
  ASSERT_EQ(c.wait(), 0) << c.err();
  EXPECT_NE(::access(file.c_str(), F_OK), 0) << "removed at exit";
  EXPECT_NE(c.err().find("#---------------------------\n# cyclictest current status:\nT: 0 ("),
            std::string::npos)
      << "SIGUSR1: the status on stderr: " << c.err();
  EXPECT_EQ(c.out().find("cyclictest current status"), std::string::npos) << "not on stdout";
  const auto doc = read_json(json);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["partial"], false);
  EXPECT_EQ(doc["stopped_by"], "duration");
  EXPECT_GT(doc["thread"]["0"]["cycles"].get<uint64_t>(), std::stoull(m2[1]));
  EXPECT_TRUE(doc["machine"].is_object());
  EXPECT_TRUE(doc["fingerprint_cost"]["cpu_s"].is_number());
  ::unlink(json.c_str());
}

TEST(CyclicRunCompat, StatusFileIsRemovedWhenASignalEndsTheRun) {
  Child c = Child::spawn(pb_path(), {"-q", "-t1", "-a", std::to_string(test_cpu()), "-i", "1000"});
  ASSERT_GT(c.pid, 0);
  const std::string file = "/dev/shm/cyclictest" + std::to_string(c.pid);
  ::usleep(500'000);
  EXPECT_EQ(::access(file.c_str(), F_OK), 0);
  ::kill(c.pid, SIGTERM);
  ASSERT_EQ(c.wait(), 0) << c.err();
  EXPECT_NE(::access(file.c_str(), F_OK), 0);
  EXPECT_NE(c.out().find("\n# Partial Run Seconds: "), std::string::npos) << c.out();
}

// Parsers turn "# KEY: VALUE" lines into metrics (lkp-tests takes the text
// before the colon as the name; mmtests matches "# ... Latencies:"). Every
// comment line keeps one colon and a key that is the same on every run, and
// the output still ends the way cyclictest's does.
TEST(CyclicRunCompat, CommentLinesGiveStableKeysAndTheOutputEndsAsCyclictests) {
  const std::string cpu = std::to_string(test_cpu());
  auto keys_of = [](const std::string& out) {
    std::vector<std::string> keys;
    for (const auto& line : lines_of(out)) {
      if (line.empty() || line[0] != '#') continue;
      EXPECT_NE(line.rfind("# T:", 0), 0u) << "no per-thread comment lines any more: " << line;
      const size_t colon = line.find(':');
      keys.push_back(line.substr(0, colon));
      if (line.rfind("# P", 0) == 0 || line.rfind("# Missed", 0) == 0) {
        EXPECT_EQ(line.find(':', colon + 1), std::string::npos) << "one colon: " << line;
        EXPECT_TRUE(std::regex_match(line.substr(colon + 1), std::regex(R"(( \d{5,})+)"))) << line;
      }
    }
    return keys;
  };
  const std::vector<std::string> args = {"-q",  "-t2", "-a",  cpu,  "-i",
                                         "200", "-l",  "100", "-h", "50"};
  const auto a = run_tool("pb-cyclictest", args);
  const auto b = run_tool("pb-cyclictest", args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const auto keys = keys_of(a.out);
  EXPECT_EQ(keys, keys_of(b.out)) << "the same keys on every run";
  for (const char* ours : {"# P50 Latencies", "# P90 Latencies", "# P99 Latencies",
                           "# P99.9 Latencies", "# P99.99 Latencies", "# Missed Periods"}) {
    EXPECT_EQ(std::count(keys.begin(), keys.end(), ours), 1) << ours;
  }
  // -q -h: the histogram block ends the output, as cyclictest's.
  EXPECT_TRUE(std::regex_search(a.out, std::regex(R"(\n# Thread 1:[^\n]*\n\n$)"))) << a.out;
  // -q: the thread lines end it.
  const auto q = run_tool("pb-cyclictest", {"-q", "-t2", "-a", cpu, "-i", "200", "-l", "50"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  const auto ql = lines_of(q.out);
  ASSERT_GE(ql.size(), 2u);
  EXPECT_EQ(ql[ql.size() - 2].rfind("T: 0 (", 0), 0u) << q.out;
  EXPECT_EQ(ql.back().rfind("T: 1 (", 0), 0u) << q.out;
}

TEST(CyclicRunCompat, SpikesAreListedAfterTheRun) {
  const auto r = run_tool("pb-cyclictest", {"-q", "-t1", "-a", std::to_string(test_cpu()), "-i",
                                            "200", "-l", "200", "--spike=1", "--spike-nodes=3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Latencies above 1 us are (nearly) every sample: three listed, all counted.
  const std::regex spike(R"(\nT: 0 Spike:\s+\d+: TS:\s+\d+)");
  const auto n = std::distance(std::sregex_iterator(r.out.begin(), r.out.end(), spike),
                               std::sregex_iterator());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(\nspikes = (\d+)\n\n)"))) << r.out;
  EXPECT_EQ(n, std::min<long>(3, std::stol(m[1]))) << r.out;
}

TEST(CyclicRunCompat, FifoHandsTheThreadLinesToAReader) {
  const std::string fifo = temp_path("ct.fifo");
  Child c = Child::spawn(pb_path(), {"-q", "-t1", "-a", std::to_string(test_cpu()), "-i", "1000",
                                     "-D", "2", "-F", fifo});
  ASSERT_GT(c.pid, 0);
  struct stat st {};
  for (int i = 0; i < 200 && ::stat(fifo.c_str(), &st) != 0; ++i) ::usleep(5000);
  ASSERT_TRUE(S_ISFIFO(st.st_mode)) << "created at the start";
  // Non-blocking, so a fifo nobody writes to cannot hang the test.
  const int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::string got;
  for (int i = 0; i < 400 && got.find('\n') == std::string::npos; ++i) {
    char buf[512];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    ::usleep(5000);
  }
  ::close(fd);
  EXPECT_TRUE(
      std::regex_match(got, std::regex(R"(T: 0 \(\s*\d+\) P: 0 I:1000 C:\s*\d+ Min:[^\n]*\n)")))
      << "one thread line, as cyclictest's fifo thread writes: " << got;
  ASSERT_EQ(c.wait(), 0) << c.err();
  EXPECT_NE(::access(fifo.c_str(), F_OK), 0) << "removed at the end";

  // A file that is not a fifo is left alone (cyclictest would unlink it).
  const std::string plain = temp_path("not-a-fifo.txt");
  { std::ofstream(plain) << "keep me\n"; }
  const auto r = run_tool("pb-cyclictest",
                          {"-q", "-t1", "-a", std::to_string(test_cpu()), "-l", "5", "-F", plain});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("is not a fifo"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(plain), "keep me\n");
  ::unlink(plain.c_str());
}

TEST(CyclicRunCompat, JsonToStdoutComesBeforeTheSummary) {
  const auto r = run_tool("pb-cyclictest", {"-q", "-t1", "-a", std::to_string(test_cpu()), "-i",
                                            "200", "-l", "30", "--json=-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t open = r.out.find("{\n");
  const size_t close = r.out.find("\n}\n", open);
  ASSERT_NE(open, std::string::npos) << r.out;
  ASSERT_NE(close, std::string::npos) << r.out;
  const auto doc = nlohmann::json::parse(r.out.substr(open, close + 3 - open), nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  EXPECT_EQ(doc["thread"]["0"]["cycles"], 30);
  EXPECT_EQ(r.out.find("# P50 Latencies:"), close + 3)
      << "then our comment lines, then the summary";
  EXPECT_EQ(::access("-", F_OK), -1) << "no file named '-'";
}

// The first spike of each thread is its first wakeup (-N --spike=1 records
// nearly every sample), and its time stamp shows where the run placed it.
std::vector<int64_t> first_spike_us(const std::string& out, int threads) {
  std::vector<int64_t> first(static_cast<size_t>(threads), -1);
  const std::regex spike(R"(T:\s*(\d+) Spike:\s*\d+: TS:\s*(\d+))");
  for (const auto& line : lines_of(out)) {
    std::smatch m;
    if (!std::regex_match(line, m, spike)) continue;
    const size_t t = std::stoul(m[1]);
    if (t < first.size() && first[t] < 0) first[t] = std::stoll(m[2]);
  }
  return first;
}

TEST(CyclicRunCompat, AlignedThreadsStartTogetherOffsetByTheirIndex) {
  const std::string cpu = std::to_string(test_cpu());
  const auto r =
      run_tool("pb-cyclictest", {"-q", "-N", "-t2", "-a", cpu, "-A", "200000", "-i", "1000", "-l",
                                 "400", "--spike=1", "--spike-nodes=5000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto first = first_spike_us(r.out, 2);
  ASSERT_GE(first[0], 0) << r.out;
  ASSERT_GE(first[1], 0) << r.out;
  // Thread 1's first release is 200 ms after thread 0's (both after one
  // interval from the common start); wakeup latency only adds to each.
  EXPECT_NEAR(static_cast<double>(first[1] - first[0]), 200'000.0, 50'000.0) << r.out;
}

TEST(CyclicRunCompat, SecondAlignedRunStartsOneIntervalAfterAFullSecond) {
  if (under_emulator())
    GTEST_SKIP() << "under qemu-user wakeups can be late by more than the window";
  const auto r = run_tool("pb-cyclictest", {"-q", "-N", "-t1", "-a", std::to_string(test_cpu()),
                                            "--secaligned", "-i", "1000", "-l", "20", "--spike=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto first = first_spike_us(r.out, 1);
  ASSERT_GE(first[0], 0) << r.out;
  const int64_t into_second = first[0] % 1'000'000;
  EXPECT_GE(into_second, 1000) << "released one interval after the second";
  EXPECT_LT(into_second, 1000 + 100'000) << "late by at most a (generous) wakeup latency";
}

TEST(CyclicRunCompat, RefreshOnMaxRedrawsOnlyOnANewMax) {
  const auto r = run_tool(
      "pb-cyclictest", {"-M", "-t1", "-a", std::to_string(test_cpu()), "-i", "500", "-l", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::regex thread_line(R"(T: 0 \(\s*\d+\) [^\n]* Max:\s*(\d+))");
  std::vector<std::string> maxima;
  for (const auto& line : lines_of(r.out)) {
    std::smatch m;
    if (std::regex_search(line, m, thread_line)) maxima.push_back(m[1]);
  }
  ASSERT_GE(maxima.size(), 2u) << r.out;
  // Every live block after the first shows a new max; the last line is the
  // final block.
  for (size_t i = 1; i + 1 < maxima.size(); ++i) EXPECT_NE(maxima[i], maxima[i - 1]) << r.out;
}

TEST(CyclicRunCompat, ResolutionCheckAndPowerOptionsSayWhatTheyDid) {
  const std::string cpu = std::to_string(test_cpu());
  const auto r = run_tool("pb-cyclictest", {"-R", "-v", "--dbg_cyclictest", "-q", "-t1", "-a", cpu,
                                            "-l", "5", "--laptop"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("reported clock resolution: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("measured clock resolution approximately: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("consecutive calls to clock_gettime()"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("battery"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("cpu_dma_latency"), std::string::npos) << "--laptop leaves it alone";
  const auto d = run_tool("pb-cyclictest", {"--default-system", "-q", "-t1", "-a", cpu, "-l", "5"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.err.find("--default-system"), std::string::npos) << d.err;
  EXPECT_EQ(d.out.find("cpu_dma_latency"), std::string::npos);
}

// --- the tools' argument lists, beside cyclictest ------------------------------

// What a parser of cyclictest's text sees in one line.
std::string line_class(std::string line) {
  static const std::regex cursor_up("^\033\\[\\d+A");
  line = std::regex_replace(line, cursor_up, "");
  if (line.empty()) return "blank";
  if (line.rfind("T:", 0) == 0) return "T";
  if (line.rfind("policy:", 0) == 0) return "policy";
  if (std::regex_match(line, std::regex(R"( *\d+: *\d+: *-?\d+)"))) return "V";
  if (std::regex_match(line, std::regex(R"(\d+[ \t][\d \t]*)"))) return "H";
  if (line[0] == '#') return line.substr(0, line.find(':'));
  return line;  // -v's preamble: "Max CPUs = 2", "Thread 0 Interval: 1000", ...
}

// The lines a parser sees, without ours (the comment lines pb-cyclictest
// adds), runs of -v samples counted as one.
std::vector<std::string> shape(const std::string& out) {
  static const std::set<std::string> ours = {
      "# P50 Latencies",    "# P90 Latencies",  "# P99 Latencies",      "# P99.9 Latencies",
      "# P99.99 Latencies", "# Missed Periods", "# Partial Run Seconds"};
  std::vector<std::string> s;
  for (const auto& line : lines_of(out)) {
    const std::string c = line_class(line);
    if (ours.count(c)) continue;
    if (c == "V" && !s.empty() && s.back() == "V") continue;
    s.push_back(c);
  }
  return s;
}

struct ToolRun {
  const char* tool;
  std::vector<std::string> args;  // as the tool passes them, adapted as said
  enum Compare { kShape, kTail } compare;
  std::vector<std::string> cyclictest_args;  // when cyclictest 2.4 refuses the tool's list
};

// Each tool's list, from the file named, adapted only where a run here needs
// it: the CPU set is this test's CPU (the process runs confined to it, so -S,
// -t and "all" mean one thread), runs last about a second, -b and
// --tracemark are left out (whether a threshold is crossed is timing, and
// cyclictest's --tracemark mounts debugfs).
std::vector<ToolRun> tool_runs(const std::string& cpu, const std::string& json) {
  return {
      // rteval: rteval/modules/measurement/cyclictest.py, _WorkloadPrepare().
      {"rteval",
       {"-i100", "-qmu", "-h 3500", "-p95", "-t1", "-a" + cpu, "--default-system", "-l", "3000"},
       ToolRun::kShape,
       {}},
      {"rteval, no interval",
       {"", "-qmu", "-h 350", "-p95", "-t1", "-a" + cpu, "-l", "500"},
       ToolRun::kShape,
       {}},
      // lkp-tests: programs/cyclictest/run with jobs/cyclictest.yaml's values.
      {"lkp-tests",
       {"-p", "90", "-m", "-c", "0", "-i", "200", "-h", "100", "-q", "-l", "2000"},
       ToolRun::kShape,
       {}},
      // Older lkp-tests (tests/cyclictest) adds -n, which cyclictest 2.4 no
      // longer takes (it prints its help): compared with the list without it.
      {"lkp-tests, older",
       {"-p", "90", "-m", "-c", "1", "-i", "200", "-n", "-h", "100", "-q", "-l", "2000"},
       ToolRun::kShape,
       {"-p", "90", "-m", "-c", "1", "-i", "200", "-h", "100", "-q", "-l", "2000"}},
      // mmtests: shellpack_src/src/cyclictest/cyclictest-bench.
      {"mmtests",
       {"--mlockall", "-p98", "--threads", "-a", "--distance=0", "--duration=1", "--quiet"},
       ToolRun::kShape,
       {}},
      {"mmtests, fine-grained",
       {"--mlockall", "-p98", "--threads", "--distance=0", "--duration=1", "-v"},
       ToolRun::kShape,
       {}},
      // Linaro test-definitions: automated/linux/cyclictest/cyclictest.sh.
      {"Linaro",
       {"-q", "-p", "98", "-i", "1000", "-t", "1", "-a", cpu, "-D", "1", "-h", "100", "-m",
        "--json=" + json},
       ToolRun::kShape,
       {}},
      {"Linaro, older", {"-p", "99", "-i", "10000", "-t", "1", "-l", "60"}, ToolRun::kTail, {}},
      // OSADL: mklatencyplot.bash.
      {"OSADL", {"-l2000", "-m", "-Sp90", "-i200", "-h400", "-q"}, ToolRun::kShape, {}},
      // Ubuntu checkbox: providers/base/bin/run_cyclictest.py.
      {"checkbox",
       {"-a" + cpu, "-t1", "-m", "-p99", "-i250", "-h700", "-q", "-D", "1"},
       ToolRun::kShape,
       {}},
      // OPNFV yardstick: yardstick/benchmark/scenarios/compute/cyclictest.py
      // (-n, as above).
      {"yardstick",
       {"-a", cpu, "-i", "1000", "-p", "99", "-l", "1000", "-t", "1", "-h", "90", "-m", "-n", "-q"},
       ToolRun::kShape,
       {"-a", cpu, "-i", "1000", "-p", "99", "-l", "1000", "-t", "1", "-h", "90", "-m", "-q"}},
  };
}

TEST(CyclicRunCompat, ToolArgumentListsRunAndPrintWhatCyclictestPrints) {
  if (under_emulator()) GTEST_SKIP() << "compares with the host's cyclictest: native runs only";
  if (pb::sys::can_use_fifo(99) != 1)
    GTEST_SKIP() << "the tools' lists ask for SCHED_FIFO priority 99";
  const std::string cyclictest = find_cyclictest();
  if (cyclictest.empty())
    GTEST_SKIP() << "rt-tests' cyclictest is not installed (scripts/setup installs it)";
  const int cpu = test_cpu();
  // Confine this process (and so the children) to the test CPU: CPU 0 stays
  // with the system, -S and -t mean one thread.
  cpu_set_t saved, one;
  pb::sys::get_affinity(0, &saved);
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  ASSERT_EQ(pb::sys::set_affinity(0, one), 0);
  const std::string json = temp_path("tool.json");
  for (const ToolRun& t : tool_runs(std::to_string(cpu), json)) {
    std::string shown;
    for (const auto& a : t.args) shown += " [" + a + "]";
    SCOPED_TRACE(std::string(t.tool) + ":" + shown);
    Child pb = Child::spawn(pb_path(), t.args);
    const int pb_rc = pb.wait();
    Child ct =
        Child::spawn(cyclictest, t.cyclictest_args.empty() ? t.args : t.cyclictest_args, false);
    const int ct_rc = ct.wait();
    ASSERT_EQ(ct_rc, 0) << "cyclictest: " << ct.err();
    ASSERT_EQ(pb_rc, 0) << pb.err();
    const auto pb_shape = shape(pb.out()), ct_shape = shape(ct.out());
    if (t.compare == ToolRun::kShape) {
      EXPECT_EQ(pb_shape, ct_shape) << "pb-cyclictest:\n"
                                    << pb.out() << "\ncyclictest:\n"
                                    << ct.out();
    } else {
      // Live display: how many refreshes depends on time; parsers read the
      // last block (Linaro's older script: tail -n THREADS).
      ASSERT_FALSE(pb_shape.empty());
      EXPECT_EQ(pb_shape.back(), "T");
      EXPECT_EQ(ct_shape.back(), "T");
    }
  }
  ::unlink(json.c_str());
  pb::sys::set_affinity(0, saved);
}

}  // namespace
