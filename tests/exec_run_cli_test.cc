// `preemptbench run` end to end on the real executive: a short sweep writes
// a complete "preemptbench.run/1" document (read back through the strict
// reader), run.md and run.csv; Ctrl-C leaves a valid partial one. One vCPU
// only (the executive's default: the last CPU, CPU 0 stays with the system).
// Assertions are about what happened (cells, keys, exit codes), never about
// how fast.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "emulator_guard.h"
#include "pb/report/run_document.h"
#include "pb/sys.h"
#include "tool_runner.h"

namespace {

using pb::report::RunDocument;
using pb::testing::run_tool;
using pb::testing::slurp;
using pb::testing::temp_path;

// The first built-in of the default suite, as `run --list-workloads` says.
std::string small_builtin() {
  const auto r = run_tool("preemptbench", {"run", "--list-workloads"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto line = r.out.substr(0, r.out.find('\n'));
  return line.substr(0, line.find(' '));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(text.substr(start, nl - start));
  }
  return out;
}

class ExecRunCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_path("exec_run_cli");
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(ExecRunCli, ShortSweepWritesACompleteDocumentThatReadsBack) {
  PB_SKIP_WITHOUT_RT();
  const std::string workload = small_builtin();
  ASSERT_FALSE(workload.empty());
  const auto r =
      run_tool("preemptbench",
               {"run", "--models", "full", "--workload", workload, "--loads", "0.5,1", "--duration",
                "0.3", "--label", "exec-test", "--out", dir_, "--format", "csv,md"},
               0, 0, /*kill_after_s=*/90);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  RunDocument doc;
  std::string error;
  ASSERT_TRUE(pb::report::read_run_document(dir_ + "/run.json", &doc, &error)) << error;
  EXPECT_FALSE(doc.partial);
  EXPECT_EQ(doc.stopped_by, "completed");
  EXPECT_EQ(doc.label, "exec-test");
  EXPECT_EQ(doc.cells_planned, 2);
  EXPECT_TRUE(doc.machine.contains("kernel"));
  EXPECT_TRUE(doc.workloads.contains(workload));
  EXPECT_EQ(doc.config.models, std::vector<std::string>{"full"});
  EXPECT_EQ(doc.config.loads, (std::vector<double>{0.5, 1}));
  ASSERT_EQ(doc.cells.size(), 2u);
  for (size_t i = 0; i < doc.cells.size(); ++i) {
    const auto& c = doc.cells[i];
    SCOPED_TRACE(i);
    EXPECT_EQ(c.error, "");
    EXPECT_EQ(c.model, "full");
    EXPECT_EQ(c.workload, workload);
    EXPECT_EQ(c.load, i == 0 ? 0.5 : 1.0);
    EXPECT_EQ(c.clock, "real");
    EXPECT_GT(c.duration_ns, 0);
    ASSERT_FALSE(c.measured.empty());
    EXPECT_GT(c.measured[0].latency.count, 0u);
    EXPECT_EQ(c.measured[0].latency.count, c.measured[0].latency_hist.count());
    EXPECT_LE(c.measured[0].latency.p50, c.measured[0].latency.p99);
    EXPECT_LE(c.measured[0].latency.p99, c.measured[0].latency.max);
    EXPECT_GE(c.throughput.work_fraction, 0.0);
  }

  // The files, and stdout: the CSV then the Markdown.
  const auto csv = lines_of(slurp(dir_ + "/run.csv"));
  ASSERT_EQ(csv.size(), 3u);
  EXPECT_EQ(csv[0].rfind("label,workload,model,load,", 0), 0u);
  EXPECT_EQ(csv[1].rfind("exec-test," + workload + ",full,0.5,", 0), 0u) << csv[1];
  const std::string md = slurp(dir_ + "/run.md");
  EXPECT_NE(md.find("# preemptbench run: exec-test"), std::string::npos);
  EXPECT_NE(md.find("| 0.5 | full | "), std::string::npos) << md;
  EXPECT_EQ(r.out.rfind("label,workload,", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\n# preemptbench run: exec-test"), std::string::npos);
  // Progress: one line per cell on stderr.
  EXPECT_NE(r.err.find("[1/2] full"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[2/2] full"), std::string::npos) << r.err;
  // Plots ran, or said why not; either way the exit status was 0.
  const bool plotted =
      std::filesystem::exists(dir_ + "/latency-vs-throughput-" + workload + ".svg") &&
      std::filesystem::exists(dir_ + "/histogram-" + workload + ".png");
  EXPECT_TRUE(plotted || r.err.find("note: plots skipped") != std::string::npos) << r.err;
}

TEST_F(ExecRunCli, CtrlCLeavesAValidPartialDocument) {
  PB_SKIP_WITHOUT_RT();
  const std::string workload = small_builtin();
  // Six cells of 2 s each; SIGINT lands during the first or second. Times
  // scaled by time_scale() (emulator_guard.h): translated code takes
  // seconds to reach the first cell.
  const int64_t s = pb::testing::time_scale();
  const auto r =
      run_tool("preemptbench",
               {"run", "--models", "none,full,rt", "--workload", workload, "--loads", "0.5,1",
                "--duration", std::to_string(2 * s), "--out", dir_, "--format", "table"},
               SIGINT, /*after_ms=*/static_cast<int>(1500 * s),
               /*kill_after_s=*/static_cast<int>(90 * s));
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_NE(r.err.find("interrupted by SIGINT"), std::string::npos) << r.err;

  RunDocument doc;
  std::string error;
  ASSERT_TRUE(pb::report::read_run_document(dir_ + "/run.json", &doc, &error)) << error;
  EXPECT_TRUE(doc.partial);
  EXPECT_EQ(doc.stopped_by, "SIGINT");
  EXPECT_EQ(doc.cells_planned, 6);
  ASSERT_GE(doc.cells.size(), 1u);
  EXPECT_LT(doc.cells.size(), 6u);
  // The cell that was running when Ctrl-C came says so.
  const auto& last = doc.cells.back();
  bool said = false;
  for (const auto& n : last.notes) said = said || n.find("interrupted by SIGINT") == 0;
  EXPECT_TRUE(said);
  // The reports were written too and say the result is partial; no plots.
  EXPECT_NE(slurp(dir_ + "/run.md").find("PARTIAL: stopped by SIGINT"), std::string::npos);
  EXPECT_NE(r.out.find("PARTIAL: stopped by SIGINT"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/histogram-" + workload + ".png"));
}

}  // namespace

namespace {

// A background task that reaches might_sleep() with a spinlock held: the
// kernel's "sleeping function called from invalid context" in every model
// but RT (where spinlock_t sleeps). --debug-aids on prints it in the
// kernel's words; off only counts it. Both record the count.
class ExecRunDebugAids : public ExecRunCli {
 protected:
  std::string description() {
    const std::string file = temp_path("atomic_sleep.json");
    std::ofstream(file) << R"({
  "name": "atomic-sleep",
  "locks": [{"name": "s", "type": "spinlock"}],
  "tasks": [{"name": "bg", "class": "fair", "user_us": 50,
             "path": [{"lock": "s", "path": [{"compute_us": 20}, {"point": "might_sleep"}]}]}]
})";
    return file;
  }
  pb::testing::ToolRun run(const std::string& aids) {
    return run_tool("preemptbench", {"run", "--models", "none", "--loads", "1", "--duration", "0.1",
                                     "--workload", description(), "--debug-aids", aids,
                                     "--no-plots", "--format", "csv", "--out", dir_});
  }
  uint64_t bugs() {
    pb::report::RunDocument doc;
    std::string error;
    EXPECT_TRUE(pb::report::read_run_document(dir_ + "/run.json", &doc, &error)) << error;
    if (doc.cells.empty()) return 0;
    const auto it = doc.cells[0].counters.find("might_sleep_bugs");
    return it == doc.cells[0].counters.end() ? 0 : it->second;
  }
};

TEST_F(ExecRunDebugAids, OnPrintsTheKernelsReport) {
  PB_SKIP_UNDER_EMULATOR();
  const auto r = run("on");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("BUG: sleeping function called from invalid context at"), std::string::npos)
      << r.err;
  EXPECT_GT(bugs(), 0u);
}

TEST_F(ExecRunDebugAids, OffOnlyCounts) {
  PB_SKIP_UNDER_EMULATOR();
  const auto r = run("off");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("BUG: sleeping function"), std::string::npos) << r.err;
  EXPECT_GT(bugs(), 0u);
}

}  // namespace
