// simulate_cell() (workloads/include/pb/workloads/cell.h): workload descriptions in
// simulated time give the real runner's CellResult, marked "simulated",
// deterministic for a seed, with each model's behaviour on the built-ins.
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pb/workloads/cell.h"
#include "pb/workloads/workload.h"

namespace {

using pb::exec::Model;
using pb::sim::SimOptions;
using pb::wl::CellResult;
using pb::wl::simulate_cell;

constexpr int64_t kUs = 1000;

SimOptions opts(int64_t seconds = 2) {
  SimOptions o;
  o.duration_ns = seconds * 1'000'000'000;
  return o;
}

CellResult cell(const char* name, Model m, double load = 1.0, SimOptions o = opts(),
                std::vector<std::string> sets = {}) {
  return simulate_cell(pb::wl::load_workload(name, sets), m, load, o);
}

TEST(SimCell, SchemaOfASimulatedCell) {
  const CellResult r = cell("kernel-path", Model::kFull);
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.clock, "simulated");
  EXPECT_EQ(r.model, "full");
  EXPECT_EQ(r.workload, "kernel-path");
  EXPECT_EQ(r.duration_ns, 2'000'000'000);
  EXPECT_FALSE(r.host_fifo);
  ASSERT_EQ(r.measured.size(), 1u);
  EXPECT_EQ(r.measured[0].name, "cyclic");
  EXPECT_EQ(r.measured[0].sched, "fifo:90");
  EXPECT_EQ(r.measured[0].period_ns, 1'000 * kUs);
  // Releases at 1, 2, ... ms: 1999 of them in 2 s (the 2000th is the end).
  EXPECT_EQ(r.measured[0].latency.count, 1999u);
  EXPECT_EQ(r.measured[0].latency_hist.count(), 1999u);
  EXPECT_GT(r.throughput.ops, 0u);
  EXPECT_GT(r.throughput.work_fraction, 0.5);
  EXPECT_GT(r.throughput.ctx_switches_per_s, 0.0);
  for (const char* k :
       {"dispatches", "ctx_involuntary", "irq_timer", "ticks", "ops", "work_ns", "deadline_misses",
        "overruns", "might_sleep_bugs", "user_ns", "kernel_ns", "idle_ns"}) {
    EXPECT_TRUE(r.counters.count(k)) << k;
  }
  EXPECT_EQ(r.counters.at("ticks"), 499u);  // HZ 250 over 2 s
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes[0].find("simulated clock"), std::string::npos);
}

// The cell's tasks array: every instance with its class, runtime, waiting
// and preemptions. kernel-path's two fair background tasks share what the
// FIFO task leaves (EEVDF: the requests are charged on their own runtime),
// within 10 %; the FIFO task's row carries the headline's latency.
TEST(SimCell, TasksArrayShowsEachTasksShare) {
  const CellResult r = cell("kernel-path", Model::kFull);
  ASSERT_EQ(r.tasks.size(), 3u);
  const auto& rt = r.tasks[0];
  EXPECT_EQ(rt.name, "cyclic");
  EXPECT_EQ(rt.sched_class, "fifo");
  EXPECT_EQ(rt.priority, 90);
  EXPECT_TRUE(rt.periodic);
  EXPECT_EQ(rt.latency.count, r.measured[0].latency.count);
  EXPECT_EQ(rt.latency.p99, r.measured[0].latency.p99);
  EXPECT_EQ(rt.ops, 1999u);
  int64_t total = 0;
  for (const auto& t : r.tasks) total += t.runtime_ns;
  EXPECT_LE(total, r.duration_ns);
  EXPECT_GT(total, r.duration_ns * 9 / 10);  // the background never sleeps long
  const auto& a = r.tasks[1];
  const auto& b = r.tasks[2];
  EXPECT_EQ(a.sched_class, "fair");
  EXPECT_EQ(b.sched_class, "fair");
  EXPECT_FALSE(a.periodic);
  const double ra = static_cast<double>(a.runtime_ns), rb = static_cast<double>(b.runtime_ns);
  EXPECT_LT(std::abs(ra - rb) / (ra + rb), 0.10) << ra << " vs " << rb;
  // FULL: the FIFO task's releases preempt them at the timer interrupt's exit.
  uint64_t at_irq_exit = 0;
  for (const auto* t : {&a, &b}) {
    EXPECT_GT(t->wait_ns, 0);
    auto it = t->preemptions.find("irq_exit_to_kernel");
    if (it != t->preemptions.end()) at_irq_exit += it->second;
  }
  EXPECT_GT(at_irq_exit, 1000u);
}

// A threaded handler starved by a higher-priority task (RT: forced
// threading, a ONESHOT line, the thread at FIFO 50 below a FIFO 60 task
// computing 5 ms of every 10 ms): the firings coalesce while the line stays
// masked, the device's counters say so and the cell carries a note (the
// result shows the device falling behind, not only healthy tasks). Off RT the
// handler runs in the hardirq and keeps up: no note.
TEST(SimCell, ThreadedDeviceFallingBehindIsNoted) {
  const std::string path = ::testing::TempDir() + "/starved-irq.json";
  {
    std::ofstream f(path);
    f << R"({"format": "preemptbench.workload/1", "name": "starved-irq",
      "description": "a device whose thread waits behind a FIFO 60 task",
      "irqs": [{"name": "nic", "rate_hz": 2000, "handler_us": 100}],
      "tasks": [{"name": "cyclic", "class": "fifo", "priority": 90, "period_us": 1000,
                 "measure": true},
                {"name": "hog", "class": "fifo", "priority": 60, "period_us": 10000,
                 "path": [{"compute_us": 5000}]}]})";
  }
  auto noted = [](const CellResult& r) {
    for (const auto& n : r.notes) {
      if (n.find("device nic: ") != std::string::npos) return true;
    }
    return false;
  };
  const pb::wl::Workload w = pb::wl::load_workload(path, {});
  const CellResult rt = simulate_cell(w, Model::kRt, 1.0, opts());
  ASSERT_TRUE(rt.error.empty()) << rt.error;
  const uint64_t fired = rt.counters.at("irq.nic.fired");
  EXPECT_GT(fired, 3'900u);
  EXPECT_GT(rt.counters.at("irq.nic.coalesced") * 3, fired);  // ~9 of 10 in each hog job
  EXPECT_LE(rt.counters.at("irq.nic.handled"), rt.counters.at("irq.nic.delivered"));
  EXPECT_GE(rt.counters.at("irq.nic.worst_fire_to_handled_ns"), 4'000 * kUs);
  EXPECT_TRUE(noted(rt));
  const CellResult full = simulate_cell(w, Model::kFull, 1.0, opts());
  EXPECT_EQ(full.counters.at("irq.nic.coalesced"), 0u);
  EXPECT_EQ(full.counters.at("irq.nic.delivered"), full.counters.at("irq.nic.fired"));
  EXPECT_FALSE(noted(full));
}

// The default costs (SimOptions): a release on a vCPU whose kernel path is
// preemptible costs one interrupt entry and one switch.
TEST(SimCell, KernelPathPerModel) {
  for (Model m : {Model::kFull, Model::kLazy, Model::kRt}) {
    const CellResult r = cell("kernel-path", m);
    EXPECT_EQ(r.measured[0].latency.min, 3'500) << r.model;
    EXPECT_LT(r.measured[0].latency.max, 10 * kUs) << r.model;
    EXPECT_EQ(r.counters.at("deadline_misses"), 0u);
  }
  for (Model m : {Model::kNone, Model::kVoluntary}) {
    const CellResult r = cell("kernel-path", m);
    // The 1000 us section has no preemption point: the release waits for it.
    EXPECT_GT(r.measured[0].latency.max, 900 * kUs) << r.model;
    EXPECT_LE(r.measured[0].latency.max, 1'000 * kUs + 10 * kUs) << r.model;
  }
  // With a cond_resched() every 100 us, NONE waits at most that long.
  const CellResult cr = cell("kernel-path", Model::kNone, 1.0, opts(), {"cond_resched_us=100"});
  EXPECT_LE(cr.measured[0].latency.max, 100 * kUs + 10 * kUs);
  EXPECT_GT(cr.counters.at("ctx_involuntary"), 0u);
}

TEST(SimCell, SpinlockPathOnlyRtPreempts) {
  EXPECT_GT(cell("spinlock-path", Model::kFull).measured[0].latency.max, 900 * kUs);
  EXPECT_LT(cell("spinlock-path", Model::kRt).measured[0].latency.max, 10 * kUs);
  const CellResult full = cell("spinlock-path", Model::kFull);
  EXPECT_GE(full.windows.preemptoff_max_ns, 1'000 * kUs);
  EXPECT_EQ(full.windows.preemptoff_where, "spin_lock (a workload's path)");
}

TEST(SimCell, FairLazyWaitsUpToATick) {
  const CellResult lazy = cell("fair-lazy", Model::kLazy);
  const CellResult full = cell("fair-lazy", Model::kFull);
  EXPECT_LT(full.measured[0].latency.max, 10 * kUs);
  EXPECT_GT(lazy.measured[0].latency.max, 1'000 * kUs);
  EXPECT_LE(lazy.measured[0].latency.max, 4'000 * kUs + 10 * kUs);  // one tick at HZ 250
  EXPECT_GT(lazy.counters.at("lazy_promotions"), 0u);
}

TEST(SimCell, LockInversionAndIrqStorm) {
  EXPECT_GT(cell("lock-inversion", Model::kFull).measured[0].latency.max, 4'000 * kUs);
  EXPECT_LT(cell("lock-inversion", Model::kRt).measured[0].latency.max, 10 * kUs);
  EXPECT_GT(cell("lock-inversion", Model::kRt).counters.at("pi_boosts"), 0u);
  const CellResult storm_full = cell("irq-storm", Model::kFull);
  const CellResult storm_rt = cell("irq-storm", Model::kRt);
  EXPECT_GT(storm_full.counters.at("softirq_at_irq_exit"), 0u);
  EXPECT_GT(storm_full.measured[0].latency.max, 100 * kUs);  // a 100 us softirq ahead of it
  EXPECT_EQ(storm_rt.counters.at("softirq_at_irq_exit"), 0u);
  EXPECT_GT(storm_rt.counters.at("irq_thread_wakeups"), 0u);
  EXPECT_LT(storm_rt.measured[0].latency.max, 10 * kUs);
  EXPECT_GT(storm_full.counters.at("irq.nic.fired"), 3'000u);
}

TEST(SimCell, TwoVcpusAndMessaging) {
  SimOptions o = opts();
  o.vcpus = 2;
  const CellResult r = cell("messaging", Model::kFull, 1.0, o);
  EXPECT_TRUE(r.error.empty());
  EXPECT_GT(r.counters.at("messages_sent"), 1'000u);
  EXPECT_GT(r.counters.at("wakeups_remote"), 0u);
  EXPECT_GT(r.counters.at("ipis_sent"), 0u);
  // One vCPU: the wakees' vCPU 1 folds onto 0, with a note.
  const CellResult one = cell("messaging", Model::kFull);
  bool folded = false;
  for (const auto& n : one.notes) folded = folded || n.find("folded") != std::string::npos;
  EXPECT_TRUE(folded);
}

TEST(SimCell, IoIsSkippedWithANote) {
  const CellResult r = cell("io-uring", Model::kFull);
  bool noted = false;
  for (const auto& n : r.notes) noted = noted || n.find("io segments skipped") != std::string::npos;
  EXPECT_TRUE(noted);
}

// Deterministic for a seed; the seed drives load's think times.
TEST(SimCell, ReproducibleForASeed) {
  SimOptions o = opts();
  o.seed = 42;
  const CellResult a = cell("kernel-path", Model::kLazy, 0.5, o);
  const CellResult b = cell("kernel-path", Model::kLazy, 0.5, o);
  EXPECT_EQ(a.counters, b.counters);
  EXPECT_EQ(a.measured[0].latency.max, b.measured[0].latency.max);
  EXPECT_EQ(a.measured[0].latency.p99, b.measured[0].latency.p99);
  EXPECT_EQ(a.throughput.ops, b.throughput.ops);
  o.seed = 43;
  const CellResult c = cell("kernel-path", Model::kLazy, 0.5, o);
  EXPECT_NE(a.counters.at("idle_ns"), c.counters.at("idle_ns"));
  // Load below 1 leaves the CPU idle part of the time.
  EXPECT_GT(a.counters.at("idle_ns"), 0u);
  EXPECT_EQ(cell("kernel-path", Model::kLazy).counters.at("idle_ns"), 0u);
}

TEST(SimCell, BadRunOptionsAreCellErrors) {
  EXPECT_NE(cell("kernel-path", Model::kFull, 0.0).error, "");
  SimOptions o = opts();
  o.vcpus = 0;
  EXPECT_NE(cell("kernel-path", Model::kFull, 1.0, o).error, "");
  o = opts();
  o.duration_ns = 0;
  EXPECT_NE(cell("kernel-path", Model::kFull, 1.0, o).error, "");
}

TEST(SimCell, OptionsFromRunOptions) {
  pb::wl::RunOptions ro;
  ro.duration_ns = 5;
  ro.vcpus = 2;
  ro.hz = 1000;
  ro.seed = 9;
  ro.round = 3;
  const SimOptions o = pb::wl::sim_options_from(ro);
  EXPECT_EQ(o.duration_ns, 5);
  EXPECT_EQ(o.vcpus, 2);
  EXPECT_EQ(o.hz, 1000);
  EXPECT_EQ(o.seed, 9u);
  EXPECT_EQ(o.round, 3);
  EXPECT_EQ(o.ctx_switch_ns, SimOptions{}.ctx_switch_ns);
}

}  // namespace

namespace {

// As the real clock (exec_workload_run_test.cc): a background periodic job
// of 1 ms against a 0.5 ms deadline misses every one, and they are counted.
TEST(SimCellDeadlines, BackgroundJobsLongerThanTheirDeadlineAllMiss) {
  const pb::wl::Workload w = pb::wl::parse_workload(R"({
  "name": "deadlines",
  "tasks": [
    {"name": "cyclic", "class": "fifo", "priority": 90, "period_us": 1000, "measure": true},
    {"name": "job", "class": "fifo", "priority": 50, "period_us": 3000, "deadline_us": 500,
     "path": [{"compute_us": 1000}]}
  ]
})",
                                                    "test:deadlines", {});
  pb::wl::RunOptions ro;
  ro.duration_ns = 300'000'000;
  const auto r =
      pb::wl::simulate_cell(w, pb::exec::Model::kFull, 1.0, pb::wl::sim_options_from(ro));
  ASSERT_EQ(r.error, "");
  ASSERT_GT(r.counters.at("ops"), 10u);
  EXPECT_EQ(r.counters.at("deadline_misses"), r.counters.at("ops"));
}

}  // namespace

// An interrupt storm at the workload format's limits (100 kHz, handler +
// softirq filling the period) ends with a result in every model: the vCPU
// is overloaded, softirq runs end at the restart bounds and hand the rest to
// ksoftirqd, and a note says so with the interrupt time share.
TEST(SimCell, InterruptStormAtTheFormatLimitEndsWithANote) {
  for (const Model m : {Model::kNone, Model::kVoluntary, Model::kFull, Model::kLazy, Model::kRt}) {
    SCOPED_TRACE(std::string(pb::exec::to_string(m)));
    const CellResult r =
        cell("irq-storm", m, 1.0, opts(1), {"irq_rate_hz=100000", "handler_us=5", "softirq_us=5"});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_GT(r.counters.at("irq_ns"), 0u);
    bool overload = false;
    for (const auto& n : r.notes) overload = overload || n.find("interrupt overload") == 0;
    if (m != Model::kRt) {
      // Off RT every handler runs in hardirq context and its softirqs at irq
      // exit: well over half the vCPU.
      EXPECT_TRUE(overload);
      EXPECT_GT(r.counters.at("softirq_bounded"), 0u);
    }
  }
}
