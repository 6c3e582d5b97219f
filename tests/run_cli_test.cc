// `preemptbench run` without running the executive: option parsing as a pure
// function, bad input through the real binary (one message, exit 2, no result
// file), and plot_run.py on a fixed document.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pb/report/reporter.h"
#include "run_options.h"
#include "run_sample.h"
#include "tool_runner.h"

namespace pb::harness {
namespace {

using pb::testing::run_tool;
using pb::testing::temp_path;

RunDefaults defaults() {
  RunDefaults d;
  d.workloads = {"alpha", "beta"};
  d.label = "host/one";
  d.timestamp = "20261122T050000Z";
  d.max_vcpus = 1;
  return d;
}

ParsedRun parse(const std::vector<std::string>& args) { return parse_run_args(args, defaults()); }

std::string usage_message(const std::vector<std::string>& args) {
  try {
    parse(args);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(accepted)";
}

// --- parsing ---------------------------------------------------------------------------

TEST(RunOptions, DefaultsCoverEveryModelTheDefaultSuiteAndThreeLoads) {
  const ParsedRun p = parse({});
  const report::RunConfig& c = p.config;
  EXPECT_EQ(c.models, (std::vector<std::string>{"none", "voluntary", "full", "lazy", "rt"}));
  EXPECT_EQ(c.workloads, (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_EQ(c.loads, (std::vector<double>{0.25, 0.5, 1}));
  EXPECT_EQ(c.duration_s, 0.8);
  EXPECT_EQ(c.vcpus, 1);
  EXPECT_EQ(c.hz, 250);
  EXPECT_EQ(c.seed, 1u);
  EXPECT_EQ(c.rounds, 1);
  EXPECT_TRUE(c.plots);
  EXPECT_TRUE(c.use_fifo);
#ifdef NDEBUG
  EXPECT_EQ(c.debug_aids, "off");  // the kernel's debug options are off in release builds
#else
  EXPECT_EQ(c.debug_aids, "on");
#endif
  EXPECT_EQ(c.formats, (std::vector<std::string>{"table"}));
  EXPECT_EQ(p.label, "host/one");
  EXPECT_EQ(c.out_dir, "out/run-host-one-20261122T050000Z");  // label made path-safe
  EXPECT_EQ(c.command_line, "preemptbench run");
}

TEST(RunOptions, EveryOptionIsTakenAndRecorded) {
  const ParsedRun p =
      parse({"--models",   "rt, full", "--workload", "x",         "--workload",   "dir/y.json",
             "--set",      "a=1",      "--set",      "b=two",     "--loads",      "0.1,1",
             "--duration", "300ms",    "--hz",       "1000",      "--seed",       "42",
             "--rounds",   "3",        "--out",      "o",         "--format",     "md,json",
             "--label",    "lab",      "--no-plots", "--no-fifo", "--debug-aids", "on"});
  const report::RunConfig& c = p.config;
  EXPECT_EQ(c.models, (std::vector<std::string>{"rt", "full"}));
  EXPECT_EQ(c.workloads, (std::vector<std::string>{"x", "dir/y.json"}));
  EXPECT_EQ(c.sets, (std::vector<std::string>{"a=1", "b=two"}));
  EXPECT_EQ(c.loads, (std::vector<double>{0.1, 1}));
  EXPECT_DOUBLE_EQ(c.duration_s, 0.3);
  EXPECT_EQ(c.hz, 1000);
  EXPECT_EQ(c.seed, 42u);
  EXPECT_EQ(c.rounds, 3);
  EXPECT_EQ(c.out_dir, "o");
  EXPECT_EQ(c.formats, (std::vector<std::string>{"md", "json"}));
  EXPECT_EQ(p.label, "lab");
  EXPECT_FALSE(c.plots);
  EXPECT_FALSE(c.use_fifo);
  EXPECT_EQ(c.debug_aids, "on");
  EXPECT_EQ(c.command_line.rfind("preemptbench run --models rt, full --workload x", 0), 0u);
}

TEST(RunOptions, DurationUnits) {
  EXPECT_DOUBLE_EQ(parse_duration_s("2"), 2.0);
  EXPECT_DOUBLE_EQ(parse_duration_s("2s"), 2.0);
  EXPECT_DOUBLE_EQ(parse_duration_s("0.3"), 0.3);
  EXPECT_DOUBLE_EQ(parse_duration_s("250ms"), 0.25);
  EXPECT_DOUBLE_EQ(parse_duration_s("1m"), 60.0);
  EXPECT_DOUBLE_EQ(parse_duration_s("1h"), 3600.0);
  EXPECT_DOUBLE_EQ(parse_duration_s("24h"), 86400.0);
}

TEST(RunOptions, ModelsAllIsEveryModel) { EXPECT_EQ(parse_models("all").size(), 5u); }

TEST(RunOptions, BadInputNamesTheOptionAndTheValue) {
  const struct {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {{"--models", "fast"}, "--models: unknown model 'fast'"},
      {{"--debug-aids", "yes"}, "--debug-aids: expected on or off, got 'yes'"},
      {{"--wakeup", "fast"}, "--wakeup: expected signal or direct, got 'fast'"},
      {{"--wakeup", ""}, "--wakeup: expected signal or direct, got ''"},
      {{"--models", "NONE"}, "--models: unknown model 'NONE'"},
      {{"--models", "full,full"}, "--models: 'full' given twice"},
      {{"--models", "full,"}, "--models: empty entry in 'full,'"},
      {{"--models", ""}, "--models: empty list"},
      {{"--loads", "0"}, "--loads: 0 is out of range [0.01, 1]"},
      {{"--loads", "-0.5"}, "--loads: -0.5 is out of range"},
      {{"--loads", "1e-15"}, "--loads: 1e-15 is out of range [0.01, 1]"},
      {{"--loads", "0.009"}, "--loads: 0.009 is out of range [0.01, 1]"},
      {{"--loads", "1.5"}, "--loads: 1.5 is out of range [0.01, 1]"},
      {{"--loads", "abc"}, "--loads: 'abc' is not a number"},
      {{"--loads", "nan"}, "--loads: 'nan' is not a number"},
      {{"--loads", "0.5,,1"}, "--loads: empty entry in '0.5,,1'"},
      {{"--loads", "1,1"}, "--loads: 1 given twice"},
      {{"--duration", "0"}, "--duration: must be positive, got '0'"},
      {{"--duration", "-1"}, "--duration: must be positive, got '-1'"},
      {{"--duration", "abc"}, "--duration: 'abc' is not a duration"},
      {{"--duration", "5x"}, "--duration: unknown unit 'x'"},
      {{"--duration", "2d"}, "--duration: unknown unit 'd'"},
      {{"--duration", "25h"}, "longer than a day"},
      {{"--duration", "100000"}, "longer than a day"},
      {{"--vcpus", "0"}, "--vcpus: 0 is out of range [1, 1024]"},
      {{"--vcpus", "2"},
       "--vcpus: 2 vCPUs need 2 host CPUs besides the system's, this process may use 1"},
      {{"--vcpus", "1.5"}, "--vcpus: '1.5' is not an integer"},
      {{"--hz", "0"}, "--hz: 0 is out of range"},
      {{"--rounds", "0"}, "--rounds: 0 is out of range [1, 1000]"},
      {{"--seed", "-1"}, "--seed: '-1' is not a non-negative integer"},
      {{"--seed", "99999999999999999999999"}, "--seed: '99999999999999999999999' is not"},
      {{"--format", "html"}, "--format: unknown format 'html'"},
      {{"--set", "novalue"}, "--set: 'novalue' is not key=value"},
      {{"--set", "=1"}, "--set: '=1' is not key=value"},
      {{"--workload", "a", "--workload", "a"}, "--workload: 'a' given twice"},
      {{"--label", " "}, "--label: must not be empty"},
      {{"--out", ""}, "--out: must not be empty"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args.front() + " " + c.args.back());
    const std::string message = usage_message(c.args);
    EXPECT_NE(message.find(c.message), std::string::npos) << message;
  }
  // Boost's own errors: unknown flags, stray words, missing values.
  EXPECT_NE(usage_message({"--model", "full"}).find("unrecognised option '--model'"),
            std::string::npos);  // no abbreviations
  EXPECT_EQ(usage_message({"full"}), "unexpected argument 'full' (options start with --)");
  EXPECT_NE(usage_message({"--loads"}).find("loads"), std::string::npos);
}

TEST(RunOptions, LabelsBecomeSafeDirectoryNames) {
  EXPECT_EQ(label_for_path("vm"), "vm");
  EXPECT_EQ(label_for_path("my box/2 (test)"), "my-box-2--test-");
  EXPECT_EQ(label_for_path(".."), "run");
}

// --- the binary: bad input is one message, exit 2, and no result file ----------------------

class RunCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_path("run_cli_out");
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `preemptbench run ARGS --out DIR` with settings that would keep a
  // wrongly accepted run short; expects exit 2 and `message` on stderr.
  void expect_usage_error(std::vector<std::string> args, const std::string& message) {
    SCOPED_TRACE(::testing::PrintToString(args));
    args.insert(args.begin(), "run");
    for (const char* a : {"--no-plots", "--format", "csv"}) args.push_back(a);
    if (std::find(args.begin(), args.end(), "--out") == args.end()) {
      args.push_back("--out");
      args.push_back(dir_);
    }
    const auto r = run_tool("preemptbench", args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.err.rfind("preemptbench run: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/run.json"));
  }

  std::string dir_;
};

TEST_F(RunCli, UnknownModel) {
  expect_usage_error({"--models", "full,preempt", "--duration", "0.01"}, "unknown model 'preempt'");
}

TEST_F(RunCli, BadWakeup) {
  expect_usage_error({"--models", "full", "--wakeup", "fast", "--duration", "0.01"},
                     "--wakeup: expected signal or direct, got 'fast'");
}

TEST_F(RunCli, BadLoad) {
  expect_usage_error({"--models", "none", "--loads", "0", "--duration", "0.01"}, "--loads:");
  expect_usage_error({"--models", "none", "--loads", "x", "--duration", "0.01"}, "--loads:");
}

TEST_F(RunCli, DurationNotPositive) {
  expect_usage_error({"--models", "none", "--duration", "0"}, "--duration: must be positive");
  expect_usage_error({"--models", "none", "--duration", "-2"}, "--duration: must be positive");
}

TEST_F(RunCli, UnknownWorkload) {
  expect_usage_error({"--models", "none", "--workload", "no-such-workload", "--duration", "0.01"},
                     "no-such-workload");
}

TEST_F(RunCli, SetKeyThatNoWorkloadDeclares) {
  expect_usage_error({"--models", "none", "--workload", "kernel-path", "--workload", "messaging",
                      "--set", "section_us=300", "--set", "nosuch=1", "--duration", "0.01"},
                     "--set nosuch=1: no workload of this run declares 'nosuch'");
}

// Several workloads: each takes the --set keys it declares (kernel-path's
// section_us does not reach messaging, which would reject it).
TEST_F(RunCli, SetKeysGoToTheWorkloadsThatDeclareThem) {
  const auto r = run_tool("preemptbench",
                          {"run",         "--clock",    "simulated",  "--models", "none",
                           "--loads",     "1",          "--duration", "0.05",     "--workload",
                           "kernel-path", "--workload", "messaging",  "--set",    "section_us=300",
                           "--no-plots",  "--format",   "csv",        "--out",    dir_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  pb::report::RunDocument doc;
  std::string error;
  ASSERT_TRUE(pb::report::read_run_document(dir_ + "/run.json", &doc, &error)) << error;
  ASSERT_EQ(doc.cells.size(), 2u);
  EXPECT_EQ(doc.cells[0].workload, "kernel-path");
  EXPECT_EQ(doc.cells[1].workload, "messaging");
  EXPECT_EQ(doc.cells[0].error, "");
  EXPECT_EQ(doc.cells[1].error, "");
}

TEST_F(RunCli, MalformedDescriptionNamesTheFile) {
  const std::string file = temp_path("bad_workload.json");
  std::ofstream(file) << "{\"name\": \"bad\", \"tasks\": [ {\"class\": 7} ";
  expect_usage_error({"--models", "none", "--workload", file, "--duration", "0.01"}, file);
  std::ofstream(file) << R"({"name": "bad", "tasks": [{"name": "t", "class": "nonsense"}]})";
  expect_usage_error({"--models", "none", "--workload", file, "--duration", "0.01"}, file);
  std::remove(file.c_str());
}

TEST_F(RunCli, BadSet) {
  expect_usage_error({"--models", "none", "--set", "novalue", "--duration", "0.01"},
                     "--set: 'novalue' is not key=value");
}

TEST_F(RunCli, UnknownOptionAndStrayWord) {
  expect_usage_error({"--modles", "none"}, "modles");
  expect_usage_error({"none"}, "unexpected argument 'none'");
}

TEST_F(RunCli, UnwritableOutDirectoryIsRefusedBeforeRunning) {
  const std::string file = temp_path("run_cli_plain_file");
  std::ofstream(file) << "x";
  expect_usage_error({"--models", "none", "--duration", "0.01", "--out", file + "/sub"}, "--out:");
  std::remove(file.c_str());
}

TEST_F(RunCli, HelpAndWorkloadList) {
  const auto help = run_tool("preemptbench", {"run", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  for (const char* o : {"--models", "--workload", "--loads", "--duration", "--vcpus", "--seed",
                        "--rounds", "--out", "--format", "--label", "--set", "--no-plots"}) {
    EXPECT_NE(help.out.find(o), std::string::npos) << o;
  }
  const auto list = run_tool("preemptbench", {"run", "--list-workloads"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("(default suite)"), std::string::npos) << list.out;
  const auto top = run_tool("preemptbench", {"--help"});
  EXPECT_NE(top.out.find("run "), std::string::npos) << top.out;
}

// --- plot_run.py ------------------------------------------------------------------------------

std::string python() {
  if (const char* p = std::getenv("PB_PYTHON"); p != nullptr && *p != '\0') return p;
  if (::access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return "python3";
}

TEST(RunPlots, OneLatencyThroughputPlotAndOneHistogramPlotPerWorkload) {
  const std::string dir = temp_path("run_plots");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/run.json")
      << report::render(report::Format::kJson, testing::sample_document());
  const std::string cmd = python() + " " + PB_BUILD_DIR + "/plot_run.py " + dir + "/run.json " +
                          dir + " >" + dir + "/log 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 3) GTEST_SKIP() << "matplotlib is not installed for " << python();
  if (WEXITSTATUS(status) == 127) GTEST_SKIP() << python() << " is not installed";
  ASSERT_EQ(WEXITSTATUS(status), 0) << pb::testing::slurp(dir + "/log");
  for (const char* stem : {"latency-vs-throughput-mixed", "latency-vs-throughput-my_file",
                           "histogram-mixed", "histogram-my_file"}) {
    for (const char* ext : {".png", ".svg"}) {
      const std::string f = dir + "/" + stem + ext;
      EXPECT_TRUE(std::filesystem::exists(f)) << f;
      if (std::filesystem::exists(f)) {
        EXPECT_GT(std::filesystem::file_size(f), 1000u) << f;
      }
    }
  }

  // Not a run document: exit 2 with a message.
  std::ofstream(dir + "/other.json") << R"({"schema": "preemptbench.cyclic/1"})";
  const std::string bad = python() + " " + PB_BUILD_DIR + "/plot_run.py " + dir + "/other.json " +
                          dir + " >" + dir + "/log 2>&1";
  const int bad_status = std::system(bad.c_str());
  EXPECT_EQ(WEXITSTATUS(bad_status), 2);
  EXPECT_NE(pb::testing::slurp(dir + "/log").find("not a preemptbench.run/1 document"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pb::harness
