// The watchdog ends a runaway task: one that passes no preemption point and
// takes no interrupt (here: interrupts soft-disabled) for longer than the
// budget. Task threads run at SCHED_OTHER here; the runaway spins until the
// watchdog ends the run (at most 2 s if it never did).
#include <sched.h>

#include <gtest/gtest.h>

#include "emulator_guard.h"

#include <atomic>
#include <string>
#include <thread>

#include "pb/executive/executive.h"

namespace {

using pb::exec::Config;
using pb::exec::Executive;
using pb::exec::Model;
using pb::exec::Policy;
using pb::exec::TaskApi;

constexpr int64_t kMs = 1'000'000;

TEST(ExecWatchdog, EndsARunawayTaskWithItsMessage) {
  PB_SKIP_UNDER_EMULATOR();
  Config c;
  c.model = Model::kNone;
  c.use_fifo = false;
  c.watchdog_budget_ns = 20 * kMs;
  Executive ex(c);
  std::atomic<int> saw_abort{0};
  ex.add_task({.name = "runaway", .policy = Policy::kFifo, .priority = 10,
               .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 api.local_irq_disable();
                 api.compute(2'000 * kMs);  // returns when the run ends
                 saw_abort = api.aborted() ? 1 : 0;
                 api.local_irq_enable();
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(10'000 * kMs);
  const auto& r = ex.result();
  ASSERT_TRUE(r.watchdog_tripped);
  EXPECT_EQ(saw_abort.load(), 1);
  EXPECT_EQ(r.watchdog_message.rfind("watchdog: task runaway on vCPU 0 ran ", 0), 0u)
      << r.watchdog_message;
  EXPECT_NE(r.watchdog_message.find(" ms without a preemption point (budget 20 ms)"),
            std::string::npos)
      << r.watchdog_message;
}

TEST(ExecWatchdog, InterruptsAndPointsKeepItQuiet) {
  PB_SKIP_UNDER_EMULATOR();
  // 300 ms of work with interrupts on (the tick is an interrupt) and a
  // blocking task beside it: no trip with a 100 ms budget.
  Config c;
  c.model = Model::kNone;
  c.use_fifo = false;
  c.watchdog_budget_ns = 100 * kMs;
  Executive ex(c);
  ex.add_task({.name = "sleeper", .policy = Policy::kFifo, .priority = 20,
               .body = [&](TaskApi& api) {
                 for (int i = 0; i < 30 && api.running(); ++i) api.msleep(10);
               }});
  ex.add_task({.name = "worker", .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 for (int i = 0; i < 300 && api.running(); ++i) api.compute(kMs);
                 api.request_stop();
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(10'000 * kMs);
  EXPECT_FALSE(ex.result().watchdog_tripped) << ex.result().watchdog_message;
}

TEST(ExecWatchdog, RunWithNothingToDoIdlesQuietly) {
  PB_SKIP_UNDER_EMULATOR();
  Config c;
  c.watchdog_budget_ns = 20 * kMs;
  Executive ex(c);
  ex.add_task({.name = "sleeper", .start_blocked = true, .body = [](TaskApi&) {}});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(100 * kMs);
  const auto& r = ex.result();
  EXPECT_FALSE(r.watchdog_tripped) << r.watchdog_message;
  EXPECT_GT(r.vcpus[0].idle_ns, 0);
}

// Executive::request_stop() from another thread ends run_for() early: a
// task that only stops when the run does sees running() turn false, and the
// run ends by the request, not by the 60 s duration or the watchdog.
TEST(ExecRunControl, RequestStopFromAnotherThreadEndsTheRun) {
  PB_SKIP_UNDER_EMULATOR();
  Config c;
  Executive ex(c);
  std::atomic<int> iterations{0};
  std::atomic<bool> saw_stop{false};
  ex.add_task({.name = "loop", .body = [&](TaskApi& api) {
                 while (api.running()) {
                   api.compute(100 * 1000);
                   api.cond_resched();
                   iterations.fetch_add(1, std::memory_order_relaxed);
                 }
                 saw_stop.store(true, std::memory_order_relaxed);
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  std::thread controller([&] {
    while (iterations.load(std::memory_order_relaxed) < 20) std::this_thread::yield();
    ex.request_stop();
  });
  ex.run_for(60'000 * kMs);
  controller.join();
  const auto& r = ex.result();
  EXPECT_FALSE(r.watchdog_tripped) << r.watchdog_message;
  EXPECT_TRUE(saw_stop.load());
  EXPECT_GE(iterations.load(), 20);
}

// From start() to stop() the caller sits on the system CPU (where the
// watchdog runs), never on a vCPU's host CPU; stop() gives its affinity back.
TEST(ExecRunControl, CallerWaitsOnTheSystemCpuAndGetsItsAffinityBack) {
  PB_SKIP_UNDER_EMULATOR();
  cpu_set_t before;
  ASSERT_EQ(sched_getaffinity(0, sizeof before, &before), 0);
  Executive ex(Config{});
  ex.add_task({.name = "sleeper", .body = [](TaskApi& api) { api.msleep(5); }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  cpu_set_t during;
  ASSERT_EQ(sched_getaffinity(0, sizeof during, &during), 0);
  ex.run_for(20 * kMs);
  const int system_cpu = ex.result().system_cpu;
  ASSERT_GE(system_cpu, 0);
  EXPECT_EQ(CPU_COUNT(&during), 1);
  EXPECT_TRUE(CPU_ISSET(system_cpu, &during));
  cpu_set_t after;
  ASSERT_EQ(sched_getaffinity(0, sizeof after, &after), 0);
  EXPECT_TRUE(CPU_EQUAL(&before, &after));
}

}  // namespace
