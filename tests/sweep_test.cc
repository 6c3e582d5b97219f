// run_sweep() as a library (harness/sweep.h): the order of the cells, what
// the observer sees before and after each one, the checkpoint state of the
// document, stopping on the interrupt flag, and --set going only to the
// workloads that declare the key. Simulated clock: deterministic, no threads.
#include "sweep.h"

#include <atomic>
#include <csignal>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "pb/report/run_document.h"
#include "run_options.h"

namespace pb::harness {
namespace {

report::RunConfig simulated_config() {
  report::RunConfig c;
  c.models = {"none", "full"};
  c.workloads = {"kernel-path"};
  c.loads = {0.5, 1.0};
  c.duration_s = 0.05;
  c.rounds = 2;
  c.clock = "simulated";
  return c;
}

// Records every call, and what the document looked like at each checkpoint.
class Recorder : public SweepObserver {
 public:
  struct Checkpoint {
    size_t cells;
    bool partial;
    std::string stopped_by;
  };
  std::vector<std::string> calls;
  std::vector<Checkpoint> checkpoints;
  std::atomic<bool>* stop_after_first = nullptr;

  void cell_starting(const SweepPlan&, size_t index) override {
    calls.push_back("start " + std::to_string(index));
  }
  void cell_finished(const SweepPlan&, const report::RunDocument& doc) override {
    calls.push_back("finish " + std::to_string(doc.cells.size()));
    checkpoints.push_back({doc.cells.size(), doc.partial, doc.stopped_by});
    if (stop_after_first != nullptr) stop_after_first->store(true);
  }
};

TEST(Sweep, ModelsAreInnermost) {
  const SweepPlan plan = plan_sweep(simulated_config());
  ASSERT_EQ(plan.cells.size(), 8u);  // 2 rounds x 1 workload x 2 loads x 2 models
  const std::vector<std::tuple<int, double, size_t>> want = {{0, 0.5, 0}, {0, 0.5, 1}, {0, 1.0, 0},
                                                             {0, 1.0, 1}, {1, 0.5, 0}, {1, 0.5, 1},
                                                             {1, 1.0, 0}, {1, 1.0, 1}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(plan.cells[i].round, std::get<0>(want[i])) << i;
    EXPECT_EQ(plan.cells[i].load, std::get<1>(want[i])) << i;
    EXPECT_EQ(plan.cells[i].model, std::get<2>(want[i])) << i;
    EXPECT_EQ(plan.cells[i].workload, 0u) << i;
  }
}

TEST(Sweep, ObserverSeesEveryCellAndEachCheckpointIsPartial) {
  const SweepPlan plan = plan_sweep(simulated_config());
  report::RunDocument doc;
  Recorder rec;
  const SweepOutcome out = run_sweep(plan, &doc, rec, SweepControl{});
  EXPECT_FALSE(out.cell_failed);
  EXPECT_FALSE(out.cut_short);
  ASSERT_EQ(rec.calls.size(), 16u);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(rec.calls[2 * i], "start " + std::to_string(i));
    EXPECT_EQ(rec.calls[2 * i + 1], "finish " + std::to_string(i + 1));
    EXPECT_EQ(rec.checkpoints[i].cells, i + 1);
    EXPECT_TRUE(rec.checkpoints[i].partial);
    EXPECT_EQ(rec.checkpoints[i].stopped_by, "running");
  }
  EXPECT_FALSE(doc.partial);
  EXPECT_EQ(doc.stopped_by, "completed");
  ASSERT_EQ(doc.cells.size(), 8u);
  for (size_t i = 0; i < 8; ++i) {
    const wl::CellResult& c = doc.cells[i];
    EXPECT_EQ(c.model, plan.config.models[plan.cells[i].model]) << i;
    EXPECT_EQ(c.workload, "kernel-path") << i;
    EXPECT_EQ(c.load, plan.cells[i].load) << i;
    EXPECT_EQ(c.round, plan.cells[i].round) << i;
    EXPECT_EQ(c.clock, "simulated") << i;
    EXPECT_TRUE(c.error.empty()) << c.error;
    EXPECT_FALSE(c.measured.empty()) << i;
  }
}

TEST(Sweep, SameSeedSameCells) {
  const SweepPlan plan = plan_sweep(simulated_config());
  report::RunDocument a, b;
  Recorder ra, rb;
  run_sweep(plan, &a, ra, SweepControl{});
  run_sweep(plan, &b, rb, SweepControl{});
  ASSERT_EQ(a.cells.size(), b.cells.size());
  for (size_t i = 0; i < a.cells.size(); ++i) {
    EXPECT_EQ(report::to_json(report::RunDocument{.cells = {a.cells[i]}}),
              report::to_json(report::RunDocument{.cells = {b.cells[i]}}))
        << i;
  }
}

TEST(Sweep, InterruptBeforeTheFirstCellRunsNothing) {
  const SweepPlan plan = plan_sweep(simulated_config());
  std::atomic<bool> interrupt{true};
  std::atomic<int> signal{SIGINT};
  report::RunDocument doc;
  Recorder rec;
  const SweepOutcome out = run_sweep(plan, &doc, rec, {.interrupt = &interrupt, .signal = &signal});
  EXPECT_TRUE(out.cut_short);
  EXPECT_TRUE(rec.calls.empty());
  EXPECT_TRUE(doc.cells.empty());
  EXPECT_TRUE(doc.partial);
  EXPECT_EQ(doc.stopped_by, "SIGINT");
}

TEST(Sweep, InterruptBetweenCellsKeepsTheFinishedOnes) {
  const SweepPlan plan = plan_sweep(simulated_config());
  std::atomic<bool> interrupt{false};
  std::atomic<int> signal{SIGTERM};
  report::RunDocument doc;
  Recorder rec;
  rec.stop_after_first = &interrupt;
  const SweepOutcome out = run_sweep(plan, &doc, rec, {.interrupt = &interrupt, .signal = &signal});
  EXPECT_TRUE(out.cut_short);
  ASSERT_EQ(doc.cells.size(), 1u);
  EXPECT_EQ(rec.calls, (std::vector<std::string>{"start 0", "finish 1"}));
  EXPECT_TRUE(doc.partial);
  EXPECT_EQ(doc.stopped_by, "SIGTERM");
  // The cell finished before the signal: it carries no interruption note.
  for (const std::string& n : doc.cells[0].notes) EXPECT_NE(n.rfind("interrupted by", 0), 0u) << n;
}

TEST(Sweep, SetGoesOnlyToTheWorkloadsThatDeclareIt) {
  report::RunConfig c = simulated_config();
  c.workloads = {"kernel-path", "messaging"};
  c.sets = {"section_us=300"};
  const SweepPlan plan = plan_sweep(c);
  ASSERT_EQ(plan.workloads.size(), 2u);
  std::string section;
  for (const wl::Param& p : plan.workloads[0].params) {
    if (p.name == "section_us") section = p.json;
  }
  EXPECT_EQ(section, "300");
  for (const wl::Param& p : plan.workloads[1].params) EXPECT_NE(p.name, "section_us");

  c.sets = {"no_such_key=1"};
  EXPECT_THROW(plan_sweep(c), UsageError);
  c.workloads = {"kernel-path", "kernel-path"};
  c.sets = {};
  EXPECT_THROW(plan_sweep(c), UsageError);  // two workloads of one name
}

}  // namespace
}  // namespace pb::harness

namespace pb::harness {
namespace {

// With the host class mirrored, only a cell whose emulated RT-class tasks
// kept the vCPUs busy for half its duration or more makes the next one rest.
TEST(Sweep, RestOnlyAfterACellThatSpentTheRtRuntime) {
  wl::CellResult c;
  c.host_fifo = true;
  c.duration_ns = 800'000'000;
  c.counters["rt_busy_ns"] = 40'000'000;  // a periodic measuring task: 5 %
  EXPECT_FALSE(rest_needed(c));
  c.counters["rt_busy_ns"] = 400'000'000;  // RT hogs: half the cell
  EXPECT_TRUE(rest_needed(c));
  c.host_fifo = false;  // nothing at host SCHED_FIFO: nothing throttled
  EXPECT_FALSE(rest_needed(c));
  c.host_fifo = true;
  c.counters.erase("rt_busy_ns");  // a cell from before the accounting: rest
  EXPECT_TRUE(rest_needed(c));
}

}  // namespace
}  // namespace pb::harness
