// The fair class in real time: the executive's runqueue holds a fair.h
// (EEVDF) queue per vCPU. Shares are of executed work (compute() does not
// count time switched out, interrupt time or host stalls), so they do not
// depend on the host's timing; no latency is asserted.
//
// The share tests' time constants (tick, base slice, periods, compute
// bursts, run bounds) are multiplied by time_scale() (emulator_guard.h): 1
// natively; under a system emulator each dispatch, interrupt and system
// call costs ~10-30x a native one, and stretching every constant alike
// keeps their share of the CPU, and so the counts and relations asserted,
// near a native run's. (The two share tests skipped there until compute()
// read its clock and totals as one snapshot: switch-outs counted as host
// stalls had left a few slices' worth of work in a 10 s run.)
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>

#include <gtest/gtest.h>

#include "emulator_guard.h"
#include "pb/executive/executive.h"
#include "pb/executive/fair.h"

namespace {

using pb::exec::Config;
using pb::exec::Executive;
using pb::exec::Model;
using pb::exec::Point;
using pb::exec::Policy;
using pb::exec::TaskApi;

constexpr int64_t kUs = 1'000;
constexpr int64_t kMs = 1'000'000;

// A one-vCPU FULL or LAZY config with the tick and the base slice scaled by
// time_scale(): natively the defaults (250 Hz, 0.70 ms).
Config scaled_config(Model m) {
  const int64_t s = pb::testing::time_scale();
  Config c;
  c.model = m;
  c.hz = static_cast<int>(250 / s);
  c.base_slice_ns = static_cast<int64_t>(pb::exec::default_base_slice_ns(1)) * s;
  return c;
}

// update_curr() charges a fair task's own runtime and pick_eevdf() runs after
// every RT preemption: two busy fair tasks under a FIFO task taking 0.2 ms of
// every 1 ms (neither ever runs a whole tick) split the rest evenly, and
// their requests (0.7 ms, one vCPU) expire on their runtime. (A slice
// measured from the last dispatch would restart at every RT preemption: one
// fair task would keep the CPU.)
TEST(ExecFair, EqualTasksShareUnderPeriodicRtPreemption) {
  PB_SKIP_UNDER_EMULATOR();
  const int64_t s = pb::testing::time_scale();
  Executive ex(scaled_config(Model::kFull));
  std::atomic<int64_t> work[2] = {0, 0};
  ex.add_task({.name = "rt",
               .policy = Policy::kFifo,
               .priority = 50,
               .period_ns = 1 * kMs * s,
               .body = [s](TaskApi& api) {
                 while (api.wait_next_period()) api.compute(200 * kUs * s);
               }});
  for (int i = 0; i < 2; ++i) {
    ex.add_task({.name = i == 0 ? "a" : "b", .body = [&work, i, s](TaskApi& api) {
                   while (api.running()) {
                     api.compute(50 * kUs * s);
                     work[i].fetch_add(50 * kUs * s, std::memory_order_relaxed);
                   }
                 }});
  }
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(1'000 * kMs * s);
  const auto& r = ex.result();
  const double a = static_cast<double>(work[0].load());
  const double b = static_cast<double>(work[1].load());
  ASSERT_GT(a + b, 0.0);
  EXPECT_LT(std::abs(a - b) / (a + b), 0.10) << a << " vs " << b;
  EXPECT_GT(r.vcpus[0].fair_slice_expiries, 100u);
}

// Nice weights split the CPU as sched_prio_to_weight[] says: nice 0 against
// nice 5 is 1024 : 335 (75.3 % : 24.7 %).
TEST(ExecFair, NiceWeightsSplitTheCpu) {
  PB_SKIP_UNDER_EMULATOR();
  const int64_t s = pb::testing::time_scale();
  Executive ex(scaled_config(Model::kFull));
  std::atomic<int64_t> work[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    ex.add_task(
        {.name = i == 0 ? "n0" : "n5", .nice = i == 0 ? 0 : 5, .body = [&work, i, s](TaskApi& api) {
           while (api.running()) {
             api.compute(50 * kUs * s);
             work[i].fetch_add(50 * kUs * s, std::memory_order_relaxed);
           }
         }});
  }
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(1'000 * kMs * s);
  const double a = static_cast<double>(work[0].load());
  const double b = static_cast<double>(work[1].load());
  ASSERT_GT(a + b, 0.0);
  EXPECT_NEAR(a / (a + b), 1024.0 / 1359.0, 0.05) << a << " vs " << b;
}

// A fair wakee that wins over a fair task in a long system call (its request
// long used up when the wakeup's update_curr() looks): under FULL the
// wakeup's resched_curr_lazy() is the full flag and the switch happens at the
// wakeup interrupt's exit; under LAZY it is the lazy flag, which only the
// tick's promotion (sched_tick()) turns into a switch.
TEST(ExecFair, LazyVersusFullForAFairWakee) {
  PB_SKIP_UNDER_EMULATOR();
  const int64_t s = pb::testing::time_scale();
  for (Model m : {Model::kFull, Model::kLazy}) {
    Executive ex(scaled_config(m));
    ex.add_task({.name = "hog", .body = [s](TaskApi& api) {
                   api.kernel_enter();
                   while (api.running()) api.compute(100 * kUs * s);
                   api.kernel_exit();
                 }});
    ex.add_task({.name = "w",
                 .period_ns = 10 * kMs * s,
                 .phase_ns = 1 * kMs * s,
                 .body = [s](TaskApi& api) {
                   for (int i = 0; i < 20 && api.wait_next_period(); ++i) api.compute(20 * kUs * s);
                   api.request_stop();
                 }});
    ASSERT_EQ(ex.start(), 0) << ex.error();
    ex.run_for(2'000 * kMs * s);
    const auto& r = ex.result();
    const auto& v = r.vcpus[0];
    const uint64_t at_irq_exit = v.preemptions[static_cast<size_t>(Point::kIrqExitToKernel)];
    EXPECT_GE(at_irq_exit, 15u) << pb::exec::to_string(m);
    if (m == Model::kFull) {
      EXPECT_EQ(v.lazy_promotions, 0u);
    } else {
      // Every switch to the wakee waited for a promotion at the tick.
      EXPECT_GE(v.lazy_promotions, at_irq_exit);
    }
  }
}

// pick_eevdf() (kernel/sched/fair.c) at the picks a FIFO task's releases
// force: the earliest virtual deadline among the eligible entities. With a
// 1 s base slice the hog's first request (PLACE_DEADLINE_INITIAL: half a
// slice) lasts 0.5 s of its runtime. A FIFO task released every 10 ms wakes
// the fair wakee and sleeps. At the first release the wakee is placed at V
// with no lag (place_entity()), as is the hog, which has the earlier
// deadline: the hog is picked and the wakee waits. Ten milliseconds later the
// hog has run ahead of V and is not eligible (entity_eligible()); the wakee,
// owed the service it waited for, is picked, and from then on at every
// release (its lag carried across its sleeps, PLACE_LAG). A host stall of a
// whole period would leave the hog no further ahead, hence the tolerance.
TEST(ExecFair, FairWakeeLosesOnDeadlineThenWinsOnLag) {
  PB_SKIP_UNDER_EMULATOR();
  const int64_t s = pb::testing::time_scale();
  Config c = scaled_config(Model::kFull);
  // The hog's first request (half a slice) outlasts the run: 1 s natively,
  // 4 s (base_slice_ns' ceiling is UINT32_MAX ns) under a system emulator.
  c.base_slice_ns = std::min<int64_t>(1'000 * kMs * s, 4'000 * kMs);
  Executive ex(c);
  std::atomic<int> woken{0};
  ex.add_task({.name = "w", .start_blocked = true, .body = [](TaskApi& api) {
                 while (api.running()) api.block();
               }});
  ex.add_task({.name = "hog", .body = [s](TaskApi& api) {
                 while (api.running()) api.compute(50 * kUs * s);
               }});
  ex.add_task({.name = "rt",
               .policy = Policy::kFifo,
               .priority = 50,
               .period_ns = 10 * kMs * s,
               .body = [&woken](TaskApi& api) {
                 while (api.wait_next_period()) {
                   api.wake(0);
                   woken.fetch_add(1);
                 }
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(100 * kMs * s);
  const auto& r = ex.result();
  ASSERT_EQ(r.tasks.size(), 3u);
  const int n = woken.load();
  ASSERT_GE(n, 5);
  // After the FIFO task's first release (its second dispatch), the hog.
  int rt_runs = 0;
  for (const auto& rec : r.vcpus[0].trace) {
    if (rec.prev == 2 && ++rt_runs == 2) {
      EXPECT_EQ(rec.task, 1);
      break;
    }
  }
  EXPECT_EQ(rt_runs, 2);
  const auto w = static_cast<int>(r.tasks[0].dispatches);
  EXPECT_LE(w, n - 1);
  EXPECT_GE(w, n - 3);
}

}  // namespace
