// Periodic release by hrtimer, the per-task latency histograms (wakeup
// latency, model-induced delay) and the per-vCPU time accounting. Counts and
// relations only; no latency value is asserted.
#include <atomic>

#include <gtest/gtest.h>

#include "emulator_guard.h"
#include "pb/executive/executive.h"

namespace {

using pb::exec::Config;
using pb::exec::Executive;
using pb::exec::Model;
using pb::exec::Point;
using pb::exec::Policy;
using pb::exec::SwitchCause;
using pb::exec::TaskApi;

constexpr int64_t kMs = 1'000'000;

// Time constants below are multiplied by time_scale() (emulator_guard.h): 1
// natively.
TEST(ExecPeriodic, EveryReleaseIsRecorded) {
  PB_SKIP_UNDER_EMULATOR();
  const int64_t s = pb::testing::time_scale();
  Config c;
  c.model = Model::kFull;
  c.hz = static_cast<int>(c.hz / s);
  Executive ex(c);
  constexpr int kPeriods = 20;
  std::atomic<int> returns{0};
  ex.add_task({.name = "periodic",
               .policy = Policy::kFifo,
               .priority = 50,
               .period_ns = 2 * kMs * s,
               .body = [&](TaskApi& api) {
                 for (int i = 0; i < kPeriods && api.wait_next_period(); ++i) {
                   returns.fetch_add(1);
                 }
                 api.request_stop();
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(5'000 * kMs);
  const auto& r = ex.result();
  ASSERT_EQ(returns.load(), kPeriods);
  const auto& t = r.tasks[0];
  EXPECT_EQ(t.periods, static_cast<uint64_t>(kPeriods));
  ASSERT_TRUE(t.wakeup_latency);
  EXPECT_EQ(t.wakeup_latency->count(), static_cast<uint64_t>(kPeriods));
  EXPECT_GE(t.wakeup_latency->min(), 0);
  // Each release not already past blocked once and was woken by its hrtimer.
  EXPECT_EQ(t.blocked, t.periods - t.overruns);
  EXPECT_GE(r.vcpus[0].hrtimers_expired, t.periods - t.overruns);
}

// Under NONE a periodic RT task released while a fair task computes in
// kernel mode waits for the fair task's cond_resched(): each such wait is a
// model-induced delay, recorded at the preemption that dispatches it.
TEST(ExecPeriodic, ModelInducedDelayIsRecordedPerPreemption) {
  PB_SKIP_UNDER_EMULATOR();
  const int64_t s = pb::testing::time_scale();
  Config c;
  c.model = Model::kNone;
  c.hz = static_cast<int>(c.hz / s);
  Executive ex(c);
  ex.add_task({.name = "rt",
               .policy = Policy::kFifo,
               .priority = 50,
               .period_ns = 3 * kMs * s,
               .body = [&](TaskApi& api) {
                 for (int i = 0; i < 10 && api.wait_next_period(); ++i) {
                 }
                 api.request_stop();
               }});
  ex.add_task({.name = "kernel-work", .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 while (api.running()) {
                   api.compute(kMs * s);
                   api.cond_resched();
                 }
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(5'000 * kMs);
  const auto& r = ex.result();
  const auto& v = r.vcpus[0];
  ASSERT_EQ(v.trace_dropped, 0u);
  uint64_t rt_preempt_dispatches = 0;
  for (const auto& d : v.trace) {
    if (d.task == 0 && d.cause == SwitchCause::kPreempt) {
      ++rt_preempt_dispatches;
      EXPECT_EQ(d.point, Point::kCondResched);
    }
  }
  EXPECT_GE(rt_preempt_dispatches, 1u);
  ASSERT_TRUE(r.tasks[0].model_delay);
  EXPECT_EQ(r.tasks[0].model_delay->count(), rt_preempt_dispatches);
  EXPECT_EQ(v.preemptions[static_cast<size_t>(Point::kIrqExitToKernel)], 0u);
}

TEST(ExecAccounting, TimeIsSplitIntoUserKernelIrqAndIdle) {
  PB_SKIP_UNDER_EMULATOR();
  const int64_t s = pb::testing::time_scale();
  Config c;
  c.model = Model::kFull;
  c.hz = static_cast<int>(1000 / s);
  Executive ex(c);
  ex.add_task({.name = "mixed", .body = [&](TaskApi& api) {
                 api.compute(10 * kMs * s);  // user
                 api.kernel_enter();
                 api.compute(10 * kMs * s);  // kernel
                 api.msleep(10 * s);         // idle
                 api.request_stop();
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(5'000 * kMs);
  const auto& v = ex.result().vcpus[0];
  EXPECT_GT(v.user_ns, 0);
  EXPECT_GT(v.kernel_ns, 0);
  EXPECT_GT(v.irq_ns, 0);
  EXPECT_GT(v.idle_ns, 0);
  EXPECT_GT(v.ticks, 0u);
  // The sleep is one voluntary switch. The exit is a second one only when the
  // task reaches do_exit's schedule() before run_for()'s teardown, which the
  // body's request_stop() starts on the other CPU: either order is legal.
  EXPECT_EQ(ex.result().tasks[0].blocked, 1u);
  EXPECT_GE(v.ctx_voluntary, 1u);
  EXPECT_LE(v.ctx_voluntary, 2u);
  EXPECT_EQ(v.idle_exits, 1u);  // the hrtimer woke it from idle
  EXPECT_GE(v.decisions[static_cast<size_t>(Point::kIrqExitToKernel)]
                       [static_cast<size_t>(pb::exec::Reason::kNoReschedPending)] +
                v.decisions[static_cast<size_t>(Point::kReturnToUser)]
                           [static_cast<size_t>(pb::exec::Reason::kNoReschedPending)],
            1u);
}

}  // namespace
