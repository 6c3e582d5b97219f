// run_cell() on the real executive: short runs (300 ms, one vCPU) of every
// built-in under two models produce a complete CellResult. Outcomes only,
// with huge margins: counts are positive, fractions are fractions, load
// lowers the background's work; no latency or timing value is asserted.
#include <gtest/gtest.h>

#include "emulator_guard.h"

#include <atomic>
#include <fstream>
#include <string>
#include <vector>

#include "pb/executive/policy.h"
#include "pb/sys.h"
#include "pb/workloads/cell.h"
#include "pb/workloads/workload.h"

namespace {

using pb::exec::Model;
using pb::wl::CellResult;
using pb::wl::RunOptions;

constexpr int64_t kRunNs = 300'000'000;

// Under a system emulator the cell lasts time_scale() times longer
// (emulator_guard.h): long-kernel-path's sections leave a translated CPU no
// complete op in 300 ms.
RunOptions short_run() {
  RunOptions o;
  o.duration_ns = kRunNs * pb::testing::time_scale();
  o.vcpus = 1;
  return o;
}

uint64_t counter(const CellResult& r, const std::string& name) {
  auto it = r.counters.find(name);
  return it == r.counters.end() ? 0 : it->second;
}

void expect_complete(const CellResult& r, const std::string& workload, Model m) {
  SCOPED_TRACE(workload + " under " + std::string(pb::exec::to_string(m)));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.workload, workload);
  EXPECT_EQ(r.model, pb::exec::to_string(m));
  EXPECT_EQ(r.clock, "real");
  EXPECT_FALSE(r.watchdog_tripped);
  EXPECT_GT(r.duration_ns, 0);
  ASSERT_FALSE(r.measured.empty());
  const auto& h = r.measured[0];
  EXPECT_GT(h.periods, 0u);
  EXPECT_GT(h.latency.count, 0u);
  EXPECT_EQ(h.latency.count, h.latency_hist.count());
  EXPECT_LE(h.latency.min, h.latency.p50);
  EXPECT_LE(h.latency.p50, h.latency.p99);
  EXPECT_LE(h.latency.p99, h.latency.max);
  EXPECT_GT(h.period_ns, 0);
  EXPECT_GT(r.throughput.ops, 0u);
  EXPECT_GT(r.throughput.ops_per_s, 0.0);
  EXPECT_GT(r.throughput.work_fraction, 0.0);
  EXPECT_LT(r.throughput.work_fraction, 1.5);
  EXPECT_GT(r.throughput.ctx_switches_per_s, 0.0);
  EXPECT_GT(counter(r, "dispatches"), 0u);
  EXPECT_GT(counter(r, "ticks"), 0u);
  EXPECT_EQ(counter(r, "ops"), r.throughput.ops);
}

class BuiltinRun : public ::testing::TestWithParam<std::string> {};

TEST_P(BuiltinRun, CompleteCellUnderTwoModels) {
  PB_SKIP_WITHOUT_RT();
  const std::string name = GetParam();
  // irq-storm's 1900 interrupts a second (a fifth of a native CPU) would
  // take all of a translated one: under a system emulator the rate is
  // divided by time_scale() (emulator_guard.h).
  std::vector<std::string> sets;
  if (name == "irq-storm" && pb::testing::time_scale() != 1)
    sets.push_back("irq_rate_hz=" + std::to_string(1900 / pb::testing::time_scale()));
  const pb::wl::Workload w = pb::wl::load_workload(name, sets);
  for (Model m : {Model::kNone, Model::kRt}) {
    const CellResult r = pb::wl::run_cell(w, m, 1.0, short_run());
    expect_complete(r, name, m);
    EXPECT_EQ(r.measured[0].sched, name == "fair-lazy" ? "fair" : "fifo:90");
    if (name == "irq-storm") {
      EXPECT_GT(counter(r, "irq.nic.fired"), 0u);
    }
    if (name == "messaging") {
      EXPECT_GT(counter(r, "messages_sent"), 0u);
      EXPECT_GT(counter(r, "messages_received"), 0u);
    }
    if (name == "lock-inversion" || name == "spinlock-path" || name == "spinlock-heavy") {
      uint64_t acquisitions = 0;
      for (const auto& [k, v] : r.counters) {
        if (k.rfind("lock.", 0) == 0 && k.find(".acquisitions") != std::string::npos) acquisitions += v;
      }
      EXPECT_GT(acquisitions, 0u);
    }
    if (name == "io-uring") {
      bool skipped = false;
      for (const auto& n : r.notes) skipped = skipped || n.find("io_uring unavailable") != std::string::npos;
      EXPECT_TRUE(skipped || counter(r, "io_completed") > 0) << "neither I/O nor a note";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Builtins, BuiltinRun, ::testing::ValuesIn(pb::wl::builtin_names()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

TEST(WorkloadRun, LoadLowersTheBackgroundsWork) {
  PB_SKIP_WITHOUT_RT();
  PB_SKIP_UNDER_SYSTEM_EMULATOR(
      "work_fraction counts compute() time between clock reads less than 20 us apart (the "
      "executive's host-stall threshold); translated guest-kernel entries exceed it, so the "
      "background's work is undercounted by an amount that varies with the load");
  const pb::wl::Workload w = pb::wl::load_workload("kernel-path", {});
  const CellResult full = pb::wl::run_cell(w, Model::kFull, 1.0, short_run());
  const CellResult quarter = pb::wl::run_cell(w, Model::kFull, 0.25, short_run());
  ASSERT_EQ(full.error, "");
  ASSERT_EQ(quarter.error, "");
  EXPECT_DOUBLE_EQ(quarter.load, 0.25);
  // About 0.95 against about 0.25 of the vCPU.
  EXPECT_LT(quarter.throughput.work_fraction, 0.7 * full.throughput.work_fraction);
  EXPECT_GT(quarter.throughput.ops, 0u);
}

TEST(WorkloadRun, InterruptEndsTheCellEarly) {
  PB_SKIP_WITHOUT_RT();
  std::atomic<bool> interrupt{true};
  RunOptions o = short_run();
  o.duration_ns = 20'000'000'000;
  o.interrupt = &interrupt;
  const CellResult r =
      pb::wl::run_cell(pb::wl::load_workload("kernel-path", {}), Model::kFull, 1.0, o);
  ASSERT_EQ(r.error, "");
  EXPECT_LT(r.duration_ns, 10'000'000'000);
  bool noted = false;
  for (const auto& n : r.notes) noted = noted || n.find("interrupted") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(WorkloadRun, FoldsVcpusWithANote) {
  PB_SKIP_WITHOUT_RT();
  const CellResult r =
      pb::wl::run_cell(pb::wl::load_workload("messaging", {}), Model::kFull, 1.0, short_run());
  ASSERT_EQ(r.error, "");
  bool noted = false;
  for (const auto& n : r.notes) noted = noted || n.find("folded") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(WorkloadRun, BadArgumentsAreErrorsNotThrows) {
  const pb::wl::Workload w = pb::wl::load_workload("kernel-path", {});
  EXPECT_NE(pb::wl::run_cell(w, Model::kFull, 0.0, short_run()).error, "");
  EXPECT_NE(pb::wl::run_cell(w, Model::kFull, 1.5, short_run()).error, "");
  RunOptions o = short_run();
  o.duration_ns = 0;
  EXPECT_NE(pb::wl::run_cell(w, Model::kFull, 1.0, o).error, "");
  o = short_run();
  o.vcpus = 0;
  EXPECT_NE(pb::wl::run_cell(w, Model::kFull, 1.0, o).error, "");
  // Identification fields are kept on an error.
  const CellResult r = pb::wl::run_cell(w, Model::kLazy, 2.0, short_run());
  EXPECT_EQ(r.model, "lazy");
  EXPECT_EQ(r.workload, "kernel-path");
  EXPECT_TRUE(r.measured.empty());
}

}  // namespace

namespace {

// Deadline misses on the real clock (TaskApi::release_ns()): a periodic task
// whose job is 1 ms of work against a 0.5 ms deadline misses every deadline,
// whatever the noise. The counter sums every periodic task's misses, so the
// measuring task here has a period longer than the run: a host stall cannot
// make it miss (with a 1 ms period, a 30 ms stall on CI added 28 misses).
TEST(WorkloadRunDeadlines, AJobLongerThanItsDeadlineMissesEveryTime) {
  PB_SKIP_WITHOUT_RT();
  const pb::wl::Workload w = pb::wl::parse_workload(R"({
  "name": "deadlines",
  "tasks": [
    {"name": "cyclic", "class": "fifo", "priority": 90, "period_us": 10000000, "measure": true},
    {"name": "job", "class": "fifo", "priority": 50, "period_us": 3000, "deadline_us": 500,
     "path": [{"compute_us": 1000}]}
  ]
})",
                                                    "test:deadlines", {});
  const CellResult r = pb::wl::run_cell(w, Model::kFull, 1.0, short_run());
  ASSERT_EQ(r.error, "");
  const uint64_t jobs = counter(r, "ops");
  EXPECT_GT(jobs, 10u);
  EXPECT_EQ(counter(r, "deadline_misses"), jobs);
}

}  // namespace

namespace {

long read_long(const char* path) {
  std::ifstream f(path);
  long v = -1;
  if (!(f >> v)) return -1;
  return v;
}

// The sweep's rest between real cells follows the host's RT bandwidth: the
// period's unthrottled remainder plus 50 ms, or nothing without throttling.
TEST(WorkloadRunRest, FollowsTheHostsRtBandwidth) {
  const long runtime = read_long("/proc/sys/kernel/sched_rt_runtime_us");
  const long period = read_long("/proc/sys/kernel/sched_rt_period_us");
  const bool throttles = runtime >= 0 && period > 0 && runtime < period;
  const int64_t expected = throttles ? (period - runtime + 50'000) * int64_t{1'000} : 0;
  EXPECT_EQ(pb::wl::rt_throttle_rest_ns(), expected)
      << "sched_rt_runtime_us " << runtime << ", sched_rt_period_us " << period;
}

}  // namespace
