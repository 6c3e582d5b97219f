// The fair class in simulated time: the engine holds one fair.h queue per
// vCPU and calls it where the kernel calls the fair class (enqueue at a
// wakeup, dequeue at a block, update_curr at the tick, the pick). Each test
// names the kernel behaviour it stands for; exact to the nanosecond (no
// costs), so the expectations are worked out from the kernel's rules.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pb/sim/engine.h"

namespace {

using pb::exec::Model;
using pb::exec::Policy;
using pb::sim::SimOptions;
using pb::sim::SimResult;
using pb::sim::SimTask;
using pb::sim::Step;
using pb::sim::StepOp;
using pb::sim::System;
namespace ops = pb::sim::ops;

constexpr int64_t kUs = 1000;
constexpr int64_t kMs = 1'000'000;

SimOptions free_options(int64_t duration_ns) {
  SimOptions o;
  o.ctx_switch_ns = 0;
  o.irq_entry_ns = 0;
  o.ipi_ns = 0;
  o.duration_ns = duration_ns;
  return o;
}

// A fair task that never sleeps: user-mode work in 1 ms steps, or one long
// system call (kernel mode, no preemption point inside).
SimTask hog(const char* name, int nice = 0, bool in_kernel = false) {
  SimTask t;
  t.name = name;
  t.nice = nice;
  if (in_kernel) {
    t.body = {ops::simple(StepOp::kKernelEnter), ops::compute(100'000 * kMs),
              ops::simple(StepOp::kKernelExit)};
  } else {
    t.body = {ops::compute(1 * kMs)};
  }
  return t;
}

SimTask periodic(const char* name, Policy p, int prio, int64_t period, int64_t work,
                 int64_t first_release) {
  SimTask t;
  t.name = name;
  t.policy = p;
  t.priority = prio;
  t.period_ns = period;
  t.first_release_ns = first_release;
  t.measure = true;
  t.body = {ops::simple(StepOp::kWaitPeriod), ops::compute(work), ops::simple(StepOp::kIterEnd)};
  return t;
}

const pb::sim::TaskResult& named(const SimResult& r, const std::string& n) {
  for (const auto& t : r.tasks) {
    if (t.name == n) return t;
  }
  ADD_FAILURE() << "no task " << n;
  static pb::sim::TaskResult none;
  return none;
}

// update_curr() charges a fair task's own runtime and pick_eevdf() runs after
// every RT preemption: two always-busy fair tasks under a 1 kHz FIFO task
// taking 0.2 ms of every 1 ms (so neither ever runs a whole tick) split the
// rest evenly, in every model, and their requests expire on their runtime.
TEST(SimFair, EqualTasksShareUnderPeriodicRtPreemption) {
  for (Model m : pb::exec::kAllModels) {
    System s;
    s.tasks = {periodic("rt", Policy::kFifo, 50, 1 * kMs, 200 * kUs, 1 * kMs), hog("a"), hog("b")};
    const SimResult r = pb::sim::simulate(s, m, free_options(1'000 * kMs));
    const double a = static_cast<double>(named(r, "a").work_ns);
    const double b = static_cast<double>(named(r, "b").work_ns);
    EXPECT_NEAR(a + b, 800.0 * kMs, 3.0 * kMs) << pb::exec::to_string(m);
    EXPECT_LT(std::abs(a - b) / (a + b), 0.10)
        << pb::exec::to_string(m) << ": " << a << " vs " << b;
    // One 0.7 ms request per 0.8 ms run between RT jobs.
    EXPECT_GT(r.vcpus[0].fair_slice_expiries, 900u) << pb::exec::to_string(m);
  }
}

// The base slice is the kernel's for the run's vCPU count, or the option:
// at 1.4 ms (two vCPUs' default, or set by hand) the same runs expire every
// other time.
TEST(SimFair, BaseSliceFromTheCpuCountOrTheOption) {
  auto expiries = [](int vcpus, int64_t base_slice_ns) {
    System s;
    s.tasks = {periodic("rt", Policy::kFifo, 50, 1 * kMs, 200 * kUs, 1 * kMs), hog("a"), hog("b")};
    SimOptions o = free_options(1'000 * kMs);
    o.vcpus = vcpus;
    o.base_slice_ns = base_slice_ns;
    return pb::sim::simulate(s, Model::kFull, o).vcpus[0].fair_slice_expiries;
  };
  const uint64_t one = expiries(1, 0);
  EXPECT_NEAR(static_cast<double>(expiries(2, 0)), one / 2.0, one * 0.05);
  EXPECT_EQ(expiries(1, 1'400'000), expiries(2, 0));
  EXPECT_EQ(expiries(2, 700'000), one);
}

// Nice weights split the CPU as sched_prio_to_weight[] says (1024 : 335).
TEST(SimFair, NiceWeightsSplitTheCpu) {
  System s;
  s.tasks = {hog("n0", 0), hog("n5", 5)};
  const SimResult r = pb::sim::simulate(s, Model::kFull, free_options(10'000 * kMs));
  const double a = static_cast<double>(named(r, "n0").work_ns);
  const double b = static_cast<double>(named(r, "n5").work_ns);
  EXPECT_NEAR(a / (a + b), 1024.0 / 1359.0, 0.02);
}

// A fair wakee that wins (the running hog's request is over when the
// wakeup's update_curr() looks, check_preempt_wakeup_fair() then
// resched_curr_lazy()): FULL sets TIF_NEED_RESCHED and switches at the
// wakeup's interrupt exit; LAZY sets the lazy flag, which no kernel-mode
// point honours, so the wakee waits for the tick's promotion (sched_tick());
// NONE waits for the hog's return to user (never, here).
TEST(SimFair, LazyVersusFullForAFairWakee) {
  auto latency = [](Model m) {
    System s;
    // Releases at 11, 21, 31 ms...: 1 or 3 ms after a tick (HZ 250), when
    // the hog has run past its 0.7 ms request.
    s.tasks = {hog("hog", 0, /*in_kernel=*/true),
               periodic("w", Policy::kFair, 0, 10 * kMs, 50 * kUs, 11 * kMs)};
    return pb::sim::simulate(s, m, free_options(1'000 * kMs));
  };
  const SimResult full = latency(Model::kFull);
  const auto& wf = named(full, "w");
  ASSERT_GT(wf.latency->count(), 90u);
  EXPECT_EQ(wf.latency->max(), 0);
  const SimResult lazy = latency(Model::kLazy);
  const auto& wl = named(lazy, "w");
  ASSERT_GT(wl.latency->count(), 90u);
  EXPECT_GE(wl.latency->min(), 1 * kMs);  // the next tick
  EXPECT_LE(wl.latency->max(), 3 * kMs);
  const SimResult none = latency(Model::kNone);
  EXPECT_LT(named(none, "w").latency->count(), 2u);  // never back from the first release
}

// check_preempt_wakeup_fair() -> pick_eevdf(): a wakee placed at V (zero
// lag) whose virtual deadline is later than the running task's does not
// preempt it, even under FULL; it runs when the running task's request ends
// (update_curr() at the tick). The first release comes 0.3 ms after a tick,
// when the hog's request (renewed at the tick) still has 0.4 ms to go: the
// wakee waits the rest of the tick period, 3.7 ms. Waiting made it owed
// service (lag = V - v > 0), which it keeps across its sleep (dequeue_entity()
// -> update_entity_lag(), place_entity() with PLACE_LAG): at the next release
// it is eligible with the earliest deadline and the hog is not eligible, so
// it preempts at once; each short run spends a little of that lag.
TEST(SimFair, LaterDeadlineWaitsThenTheLagCarriesAcrossTheSleep) {
  System s;
  SimTask w = periodic("w", Policy::kFair, 0, 8 * kMs, 50 * kUs, 8 * kMs + 300 * kUs);
  w.keep_responses = 3;
  s.tasks = {hog("hog", 0, /*in_kernel=*/true), w};
  for (Model m : {Model::kFull, Model::kRt}) {
    const SimResult r = pb::sim::simulate(s, m, free_options(100 * kMs));
    const auto& t = named(r, "w");
    ASSERT_EQ(t.responses_ns.size(), 3u);
    EXPECT_EQ(t.responses_ns[0], 3'750 * kUs) << pb::exec::to_string(m);
    EXPECT_EQ(t.responses_ns[1], 50 * kUs) << pb::exec::to_string(m);
    EXPECT_EQ(t.responses_ns[2], 50 * kUs) << pb::exec::to_string(m);
  }
}

// An RT wakee still preempts a fair task at once (wakeup_preempt(): a higher
// class), whatever the fair class's deadlines say.
TEST(SimFair, RtWakeePreemptsTheFairHogAtOnce) {
  System s;
  s.tasks = {hog("hog", 0, /*in_kernel=*/true),
             periodic("rt", Policy::kFifo, 10, 8 * kMs, 50 * kUs, 8 * kMs + 300 * kUs)};
  const SimResult r = pb::sim::simulate(s, Model::kFull, free_options(500 * kMs));
  EXPECT_EQ(named(r, "rt").latency->max(), 0);
}

// A bad nice value or base slice is refused.
TEST(SimFair, RejectsBadNiceAndBaseSlice) {
  System s;
  s.tasks = {hog("a", 20)};
  EXPECT_THROW(pb::sim::simulate(s, Model::kFull, free_options(10 * kMs)), std::invalid_argument);
  s.tasks = {hog("a")};
  SimOptions o = free_options(10 * kMs);
  o.base_slice_ns = -1;
  EXPECT_THROW(pb::sim::simulate(s, Model::kFull, o), std::invalid_argument);
}

// RUN_TO_PARITY (pick_eevdf() with the running task's protection,
// set_protect_slice()/protect_slice()): a fair wakee does not preempt a fair
// task inside its request, in any model. With a 1 s base slice the hog's
// first request (PLACE_DEADLINE_INITIAL: half a slice) outlasts the 100 ms
// run: the wakee, released every 10 ms (a simulated periodic task starts
// blocked until its first release), never runs: the hog stays protected and
// is never picked against (the executive's FairWakeeLosesOnDeadlineThenWinsOnLag
// forces picks with a FIFO task, where the hog's lead makes it ineligible).
// The same wakee as an RT task runs every period at once.
TEST(SimFair, FairWakeeWaitsForTheRunningRequest) {
  for (Model m : pb::exec::kAllModels) {
    for (Policy wp : {Policy::kFair, Policy::kFifo}) {
      System s;
      s.tasks = {periodic("w", wp, wp == Policy::kFair ? 0 : 50, 10 * kMs, 20 * kUs, 10 * kMs),
                 hog("hog")};
      SimOptions o = free_options(100 * kMs);
      o.base_slice_ns = 1'000 * kMs;
      const SimResult r = pb::sim::simulate(s, m, o);
      const auto& w = named(r, "w");
      const auto& hg = named(r, "hog");
      if (wp == Policy::kFair) {
        EXPECT_EQ(w.iterations, 0u) << pb::exec::to_string(m);
        EXPECT_EQ(w.dispatches, 0u) << pb::exec::to_string(m);
        EXPECT_EQ(hg.preempted, 0u) << pb::exec::to_string(m);
      } else {
        EXPECT_EQ(w.iterations, 9u) << pb::exec::to_string(m);
        EXPECT_EQ(w.latency->max(), 0) << pb::exec::to_string(m);
      }
    }
  }
}

}  // namespace
