// The watchdog ends a runaway task: one that passes no preemption point and
// takes no interrupt (here: interrupts soft-disabled) for longer than the
// budget. Task threads run at SCHED_OTHER here; the runaway spins until the
// watchdog ends the run (at most 2 s if it never did).
#include <sched.h>

#include <atomic>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "emulator_guard.h"
#include "pb/executive/executive.h"
#include "pb/sys.h"

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
  ex.add_task(
      {.name = "runaway", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
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
  ex.add_task(
      {.name = "sleeper", .policy = Policy::kFifo, .priority = 20, .body = [&](TaskApi& api) {
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

// --- host stalls are named, not blamed on the task ----------------------------------------

using pb::exec::StuckVerdict;
using pb::exec::StuckWindow;

std::string message(StuckVerdict v, const StuckWindow& w) {
  char buf[320];
  pb::exec::format_stuck(buf, sizeof buf, v, w, "kp-0", 0, 200 * kMs);
  return buf;
}

TEST(ExecWatchdogVerdict, BlamesTheTaskOnlyForTimeTheHostGaveIt) {
  const int64_t budget = 200 * kMs;
  using V = StuckVerdict;
  // Within the budget: quiet, whatever the host did.
  EXPECT_EQ(pb::exec::classify_stuck({199 * kMs, 199 * kMs, 0}, budget), V::kQuiet);
  EXPECT_EQ(pb::exec::classify_stuck({199 * kMs, 0, 199 * kMs}, budget), V::kQuiet);
  // Past it and the thread ran the whole time: the task's doing.
  EXPECT_EQ(pb::exec::classify_stuck({230 * kMs, 229 * kMs, 1 * kMs}, budget), V::kTaskOverran);
  EXPECT_EQ(pb::exec::classify_stuck({900 * kMs, 200 * kMs, 700 * kMs}, budget), V::kTaskOverran);
  // Past it, but the host ran the thread less than the budget: the host's.
  EXPECT_EQ(pb::exec::classify_stuck({230 * kMs, 50 * kMs, 180 * kMs}, budget), V::kHostStalled);
  EXPECT_EQ(pb::exec::classify_stuck({5000 * kMs, 0, 0}, budget), V::kHostStalled);
  // No per-thread accounting from the host: judged by the wall clock, as before.
  EXPECT_EQ(pb::exec::classify_stuck({230 * kMs, -1, -1}, budget), V::kTaskOverran);
}

TEST(ExecWatchdogVerdict, MessagesSayWhoseDoingItWas) {
  EXPECT_EQ(message(StuckVerdict::kTaskOverran, {230 * kMs, 229 * kMs, kMs}),
            "watchdog: task kp-0 on vCPU 0 ran 229 ms without a preemption point (budget 200 ms)");
  const std::string host = message(StuckVerdict::kHostStalled, {230 * kMs, 50 * kMs, 175 * kMs});
  EXPECT_EQ(host.rfind("watchdog: the host did not run vCPU 0 for 180 ms of 230 ms (task kp-0 "
                       "was runnable and waiting 175 ms of it",
                       0),
            0u)
      << host;
  EXPECT_NE(host.find("not the task's doing"), std::string::npos) << host;
  const std::string unknown = message(StuckVerdict::kTaskOverran, {230 * kMs, -1, -1});
  EXPECT_NE(unknown.find("ran 230 ms without a preemption point"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("per-thread run time is unavailable"), std::string::npos) << unknown;
  char tiny[8];
  pb::exec::format_stuck(tiny, sizeof tiny, StuckVerdict::kHostStalled, {1, 0, 0}, "x", 0, 1);
  EXPECT_EQ(std::string(tiny), "watchdo");  // truncated, terminated
}

// A real stall: a host thread at SCHED_FIFO 99 takes the vCPU's CPU for
// 300 ms while the task computes with its interrupts on (they cannot be
// delivered to a thread the host does not run, so the heartbeat stops).
// Before the host's accounting was read, the watchdog (100 ms budget) ended
// such runs blaming the task; now the run goes on and the stall is named.
TEST(ExecWatchdog, AHostThreadTakingTheCpuIsAHostStallNotARunaway) {
  PB_SKIP_WITHOUT_RT();
  pb::sys::ThreadSchedStat probe;
  if (pb::sys::read_thread_schedstat(pb::sys::gettid(), &probe) != 0) {
    GTEST_SKIP() << "the kernel keeps no per-thread schedstat";
  }
  Config c;
  c.model = Model::kFull;
  c.watchdog_budget_ns = 100 * kMs;
  c.print_debug_reports = false;
  Executive ex(c);
  std::atomic<int> cpu{-1};
  std::atomic<bool> hogged{false};
  ex.add_task(
      {.name = "victim", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
         cpu.store(pb::sys::current_cpu());
         while (!hogged.load() && api.running()) api.compute(kMs);
         api.compute(20 * kMs);
         api.request_stop();
       }});
  std::thread hog([&] {
    while (cpu.load() < 0) std::this_thread::yield();
    pb::sys::pin_to_cpu(0, cpu.load());
    pb::sys::set_scheduler(0, SCHED_FIFO, 99);
    const int64_t end = pb::sys::now_ns() + 300 * kMs;
    while (pb::sys::now_ns() < end) {
    }
    hogged.store(true);
    pb::sys::set_scheduler(0, SCHED_OTHER, 0);
  });
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(10'000 * kMs);
  hog.join();
  const auto& r = ex.result();
  EXPECT_FALSE(r.watchdog_tripped) << r.watchdog_message;
  ASSERT_EQ(r.vcpus.size(), 1u);
  EXPECT_GE(r.vcpus[0].host_stall_windows, 1u);
  EXPECT_GT(r.vcpus[0].host_stall_ns, 0);
  bool named = false;
  for (const auto& n : r.notes)
    named = named || n.find("the host did not run vCPU 0") == 0 ||
            n.find("watchdog: the host did not run vCPU 0") == 0;
  EXPECT_TRUE(named);
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
