// The executive's scheduler on one vCPU: CPU planning, dispatch order by
// priority, blocking and waking, and the nested-lock rule at each model's
// preemption points. Deterministic: tasks record, into storage allocated
// before the run, the order in which things happened; the assertions are on
// that order and on counters, never on wall-clock time. Interrupts are left
// on (the tick at the default HZ); where one could change an outcome the
// scenario keeps the task in kernel mode with no flag a tick could act on.
#include <array>
#include <atomic>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "emulator_guard.h"
#include "pb/executive/executive.h"
#include "pb/executive/fair.h"

namespace {

using pb::exec::Completion;
using pb::exec::Config;
using pb::exec::Executive;
using pb::exec::Model;
using pb::exec::Point;
using pb::exec::Policy;
using pb::exec::RunResult;
using pb::exec::SwitchCause;
using pb::exec::TaskApi;
using pb::exec::TaskSpec;

constexpr int64_t kRunBound = 5'000'000'000;  // every run ends by itself well before

// Events recorded by tasks, in order; fixed storage, lock-free.
class Log {
 public:
  void add(int e) noexcept {
    const int i = n_.fetch_add(1, std::memory_order_relaxed);
    if (i < static_cast<int>(ev_.size())) ev_[static_cast<size_t>(i)] = e;
  }
  std::vector<int> events() const {
    std::vector<int> out;
    const int n = std::min(n_.load(), static_cast<int>(ev_.size()));
    for (int i = 0; i < n; ++i) out.push_back(ev_[static_cast<size_t>(i)]);
    return out;
  }

 private:
  std::array<int, 256> ev_{};
  std::atomic<int> n_{0};
};

Config small_config(Model m) {
  Config c;
  c.model = m;
  c.watchdog_budget_ns = 100'000'000;
  return c;
}

size_t pidx(Point p) { return static_cast<size_t>(p); }

// "preempt_enable=1 irq_exit_to_kernel=0 ... ticks=3": a vCPU's involuntary
// switches by point, for a failed count's message.
std::string points_of(const pb::exec::VcpuStats& v) {
  std::string s;
  for (const Point p : pb::exec::kAllPoints)
    s += std::string(to_string(p)) + "=" + std::to_string(v.preemptions[pidx(p)]) + " ";
  return s + "ticks=" + std::to_string(v.ticks);
}

// --- CPU planning (pure) --------------------------------------------------------------

TEST(ExecPlanCpus, OneVcpuTakesTheLastCpuNeverCpu0) {
  PB_SKIP_UNDER_EMULATOR();
  const auto p = pb::exec::plan_cpus({0, 1}, {}, {}, 1, false);
  ASSERT_TRUE(p.error.empty()) << p.error;
  EXPECT_EQ(p.vcpu_cpus, std::vector<int>{1});
  EXPECT_EQ(p.system_cpu, 0);
}

TEST(ExecPlanCpus, TwoVcpusOnTwoCpusNeedAllowSystemCpu) {
  PB_SKIP_UNDER_EMULATOR();
  EXPECT_FALSE(pb::exec::plan_cpus({0, 1}, {}, {}, 2, false).error.empty());
  const auto p = pb::exec::plan_cpus({0, 1}, {}, {}, 2, true);
  ASSERT_TRUE(p.error.empty()) << p.error;
  EXPECT_EQ(p.vcpu_cpus, (std::vector<int>{1, 0}));
}

TEST(ExecPlanCpus, PrefersIsolatedThenOnePuPerCore) {
  PB_SKIP_UNDER_EMULATOR();
  // CPUs 0-7; cores: {0,4} {1,5} {2,6} {3,7}; CPU 2 isolated.
  const std::vector<int> allowed = {0, 1, 2, 3, 4, 5, 6, 7};
  const std::vector<int> core = {0, 1, 2, 3, 0, 1, 2, 3};
  const auto p = pb::exec::plan_cpus(allowed, core, {2}, 3, false);
  ASSERT_TRUE(p.error.empty()) << p.error;
  EXPECT_EQ(p.vcpu_cpus, (std::vector<int>{2, 3, 1}));
  EXPECT_EQ(p.system_cpu, 0);
}

TEST(ExecPlanCpus, LeavesOneCpuToTheSystem) {
  PB_SKIP_UNDER_EMULATOR();
  // Only CPUs 1 and 2 allowed: one vCPU fits, two do not.
  EXPECT_TRUE(pb::exec::plan_cpus({1, 2}, {}, {}, 1, false).error.empty());
  EXPECT_FALSE(pb::exec::plan_cpus({1, 2}, {}, {}, 2, false).error.empty());
  EXPECT_EQ(pb::exec::plan_cpus({1, 2}, {}, {}, 1, false).system_cpu, 1);
}

// --- dispatch -------------------------------------------------------------------------

TEST(ExecSched, SingleTaskRunsAndStops) {
  PB_SKIP_UNDER_EMULATOR();
  Executive ex(small_config(Model::kFull));
  std::atomic<int> ran{0};
  ex.add_task({.name = "solo", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 ran = 1;
                 api.request_stop();
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(kRunBound);
  const RunResult& r = ex.result();
  EXPECT_EQ(ran.load(), 1);
  EXPECT_FALSE(r.watchdog_tripped) << r.watchdog_message;
  ASSERT_EQ(r.vcpus.size(), 1u);
  ASSERT_GE(r.vcpus[0].trace.size(), 1u);
  EXPECT_EQ(r.vcpus[0].trace[0].task, 0);
  EXPECT_EQ(r.vcpus[0].trace[0].cause, SwitchCause::kStart);
}

TEST(ExecSched, SecondRunInTheSameProcessWorks) {
  PB_SKIP_UNDER_EMULATOR();
  for (int round = 0; round < 3; ++round) {
    Executive ex(small_config(Model::kNone));
    std::atomic<int> ran{0};
    ex.add_task({.name = "a", .body = [&](TaskApi&) { ran.fetch_add(1); }});
    ex.add_task({.name = "b", .body = [&](TaskApi& api) {
                   ran.fetch_add(1);
                   api.request_stop();
                 }});
    ASSERT_EQ(ex.start(), 0) << ex.error();
    ex.run_for(kRunBound);
    EXPECT_EQ(ran.load(), 2) << "round " << round;
  }
}

// The two fair tasks run one after the other without a tick ending the
// first one's slice: under a system emulator the tick and the base slice are
// scaled by time_scale() (emulator_guard.h), as a fair task's first dispatch
// there takes a good part of a native slice.
TEST(ExecSched, DispatchOrderByPriorityFifoWithinPriority) {
  PB_SKIP_UNDER_EMULATOR();
  Config c = small_config(Model::kFull);
  c.hz = static_cast<int>(c.hz / pb::testing::time_scale());
  c.base_slice_ns =
      static_cast<int64_t>(pb::exec::default_base_slice_ns(1)) * pb::testing::time_scale();
  Executive ex(c);
  Log log;
  auto rec = [&](int id, bool last) {
    return [&log, id, last](TaskApi& api) {
      log.add(id);
      if (last) api.request_stop();
    };
  };
  // Created in this order; expected to run highest priority first, creation
  // order within a priority, fair tasks last.
  ex.add_task({.name = "fair1", .body = rec(0, false)});
  ex.add_task({.name = "fifo10", .policy = Policy::kFifo, .priority = 10, .body = rec(1, false)});
  ex.add_task({.name = "fifo50a", .policy = Policy::kFifo, .priority = 50, .body = rec(2, false)});
  ex.add_task({.name = "rr50", .policy = Policy::kRr, .priority = 50, .body = rec(3, false)});
  ex.add_task({.name = "fifo99", .policy = Policy::kFifo, .priority = 99, .body = rec(4, false)});
  ex.add_task({.name = "fair2", .body = rec(5, true)});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(kRunBound);
  EXPECT_EQ(log.events(), (std::vector<int>{4, 2, 3, 1, 0, 5}));
  const auto& v = ex.result().vcpus[0];
  ASSERT_GE(v.trace.size(), 6u);
  const std::vector<int> expect_dispatch = {4, 2, 3, 1, 0, 5};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(v.trace[i].task, expect_dispatch[i]) << i;
    EXPECT_EQ(v.trace[i].cause, i == 0 ? SwitchCause::kStart : SwitchCause::kExit) << i;
  }
  EXPECT_EQ(v.ctx_involuntary, 0u);
}

// A high-priority task blocks; a low one wakes it. Under FULL the wakee runs
// at the preempt_enable() that ends the wakeup; under NONE only when the
// waker reaches cond_resched().
void block_and_wake(Model m, std::vector<int>* events, RunResult* out) {
  Executive ex(small_config(m));
  Log log;
  ex.add_task({.name = "high", .policy = Policy::kFifo, .priority = 20, .body = [&](TaskApi& api) {
                 log.add(1);  // runs first
                 api.kernel_enter();
                 api.block();
                 log.add(2);  // woken
               }});
  ex.add_task({.name = "low", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 log.add(10);
                 api.wake(0);  // high is blocked: this makes it runnable
                 log.add(11);
                 api.cond_resched();
                 log.add(12);
                 api.request_stop();
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(kRunBound);
  *events = log.events();
  *out = ex.result();
}

TEST(ExecSched, WakeupPreemptsAtPreemptEnableUnderFull) {
  PB_SKIP_UNDER_EMULATOR();
  std::vector<int> ev;
  RunResult r;
  block_and_wake(Model::kFull, &ev, &r);
  EXPECT_EQ(ev, (std::vector<int>{1, 10, 2, 11, 12}));
  EXPECT_EQ(r.vcpus[0].preemptions[pidx(Point::kPreemptEnable)], 1u) << points_of(r.vcpus[0]);
  EXPECT_EQ(r.vcpus[0].wakeups_local, 1u);
  EXPECT_EQ(r.vcpus[0].ipis_sent, 0u);
}

TEST(ExecSched, WakeupWaitsForCondReschedUnderNone) {
  PB_SKIP_UNDER_EMULATOR();
  std::vector<int> ev;
  RunResult r;
  block_and_wake(Model::kNone, &ev, &r);
  EXPECT_EQ(ev, (std::vector<int>{1, 10, 11, 2, 12}));
  EXPECT_EQ(r.vcpus[0].preemptions[pidx(Point::kCondResched)], 1u);
  EXPECT_EQ(r.vcpus[0].preemptions[pidx(Point::kPreemptEnable)], 0u);
}

// The nested-lock rule: a reschedule requested at preempt_count 1 does not
// switch; FULL switches when preempt_enable() brings the count to 0, NONE
// waits for cond_resched() (here) or the return to user.
void nested_lock(Model m, bool exit_to_user, std::vector<int>* events, RunResult* out) {
  Executive ex(small_config(m));
  Log log;
  ex.add_task({.name = "high",
               .policy = Policy::kFifo,
               .priority = 20,
               .start_blocked = true,
               .body = [&](TaskApi&) { log.add(1); }});
  ex.add_task({.name = "low", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 api.preempt_disable();  // a spinlock held
                 api.wake(0);            // need_resched set at count 1
                 log.add(static_cast<int>(api.preempt_count()) * 100 + 10);  // 110
                 log.add(api.resched_flags().need_resched ? 11 : 0);
                 api.preempt_enable();  // count 0
                 log.add(12);
                 if (exit_to_user) {
                   api.kernel_exit();
                 } else {
                   api.cond_resched();
                 }
                 log.add(13);
                 api.request_stop();
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(kRunBound);
  *events = log.events();
  *out = ex.result();
}

TEST(ExecSched, NestedLockRuleFullSwitchesAtPreemptEnable) {
  PB_SKIP_UNDER_EMULATOR();
  std::vector<int> ev;
  RunResult r;
  nested_lock(Model::kFull, false, &ev, &r);
  EXPECT_EQ(ev, (std::vector<int>{110, 11, 1, 12, 13}));
  const auto& v = r.vcpus[0];
  EXPECT_EQ(v.preemptions[pidx(Point::kPreemptEnable)], 1u);
  // The wakeup's own preempt_enable() at count 1 consulted the policy and deferred.
  EXPECT_GE(v.decisions[pidx(Point::kPreemptEnable)]
                       [static_cast<size_t>(pb::exec::Reason::kCountNonZero)],
            1u);
}

TEST(ExecSched, NestedLockRuleNoneWaitsForCondResched) {
  PB_SKIP_UNDER_EMULATOR();
  std::vector<int> ev;
  RunResult r;
  nested_lock(Model::kNone, false, &ev, &r);
  EXPECT_EQ(ev, (std::vector<int>{110, 11, 12, 1, 13}));
  EXPECT_EQ(r.vcpus[0].preemptions[pidx(Point::kCondResched)], 1u);
  EXPECT_EQ(r.vcpus[0].preemptions[pidx(Point::kPreemptEnable)], 0u);
}

TEST(ExecSched, NestedLockRuleNoneSwitchesOnReturnToUser) {
  PB_SKIP_UNDER_EMULATOR();
  std::vector<int> ev;
  RunResult r;
  nested_lock(Model::kNone, true, &ev, &r);
  EXPECT_EQ(ev, (std::vector<int>{110, 11, 12, 1, 13}));
  EXPECT_EQ(r.vcpus[0].preemptions[pidx(Point::kReturnToUser)], 1u);
}

TEST(ExecSched, VoluntarySwitchesAtMightSleep) {
  PB_SKIP_UNDER_EMULATOR();
  Executive ex(small_config(Model::kVoluntary));
  Log log;
  ex.add_task({.name = "high",
               .policy = Policy::kFifo,
               .priority = 20,
               .start_blocked = true,
               .body = [&](TaskApi&) { log.add(1); }});
  ex.add_task({.name = "low", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 api.wake(0);
                 log.add(10);
                 api.might_sleep();
                 log.add(11);
                 api.request_stop();
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(kRunBound);
  EXPECT_EQ(log.events(), (std::vector<int>{10, 1, 11}));
  EXPECT_EQ(ex.result().vcpus[0].preemptions[pidx(Point::kMightResched)], 1u);
}

TEST(ExecSched, CompletionsHandOffBetweenEqualPriorities) {
  PB_SKIP_UNDER_EMULATOR();
  // Ping-pong through two completions: each side blocks, so every switch is
  // voluntary and the order is strict.
  Executive ex(small_config(Model::kFull));
  Log log;
  Completion ping, pong;
  constexpr int kRounds = 50;
  ex.add_task({.name = "ping", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 for (int i = 0; i < kRounds; ++i) {
                   log.add(i * 2);
                   api.complete(pong);
                   if (!api.wait_for_completion(ping)) return;
                 }
                 api.request_stop();
               }});
  ex.add_task({.name = "pong", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 for (int i = 0; i < kRounds; ++i) {
                   if (!api.wait_for_completion(pong)) return;
                   log.add(i * 2 + 1);
                   api.complete(ping);
                 }
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(kRunBound);
  std::vector<int> expect;
  for (int i = 0; i < 2 * kRounds; ++i) expect.push_back(i);
  EXPECT_EQ(log.events(), expect);
  EXPECT_EQ(ex.result().vcpus[0].ctx_involuntary, 0u);
  EXPECT_FALSE(ex.result().watchdog_tripped) << ex.result().watchdog_message;
}

// Timer hand-over at a switch: with parked tasks keeping their timer armed,
// a two-task ping-pong needs (almost) no timer system calls; with the strict
// mode every switch disarms the parking task's timer and arms the next one's.
// The claim is per tick: under instruction emulation each switch costs
// ~10-30x more, so the tick is slowed by time_scale() (emulator_guard.h).
uint64_t pingpong_timer_syscalls(int parked_armed, uint64_t* dispatches) {
  Config c = small_config(Model::kFull);
  c.hz = static_cast<int>(c.hz / pb::testing::time_scale());
  c.parked_armed_timers = parked_armed;
  Executive ex(c);
  Completion ping, pong;
  constexpr int kRounds = 1000;
  ex.add_task({.name = "ping", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 for (int i = 0; i < kRounds; ++i) {
                   api.complete(pong);
                   if (!api.wait_for_completion(ping)) return;
                 }
                 api.request_stop();
               }});
  ex.add_task({.name = "pong", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 for (int i = 0; i < kRounds; ++i) {
                   if (!api.wait_for_completion(pong)) return;
                   api.complete(ping);
                 }
               }});
  EXPECT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(kRunBound);
  *dispatches = ex.result().vcpus[0].dispatches;
  return ex.result().vcpus[0].timer_syscalls;
}

TEST(ExecSched, ParkedTasksKeepTheirTimerArmed) {
  PB_SKIP_UNDER_EMULATOR();
  uint64_t dispatches = 0;
  const uint64_t syscalls = pingpong_timer_syscalls(4, &dispatches);
  EXPECT_GE(dispatches, 2000u);
  // A handful per tick (the handler re-arms, each task re-arms once after
  // an expiry), not per switch.
  EXPECT_LT(syscalls, dispatches / 4);
}

TEST(ExecSched, StrictModeDisarmsAtEverySwitch) {
  PB_SKIP_UNDER_EMULATOR();
  uint64_t dispatches = 0;
  const uint64_t syscalls = pingpong_timer_syscalls(0, &dispatches);
  EXPECT_GE(dispatches, 2000u);
  EXPECT_GE(syscalls, 2 * (dispatches - 1));
}

TEST(ExecSched, SchedulingWhileAtomicIsReportedAndCounted) {
  PB_SKIP_UNDER_EMULATOR();
  Config c = small_config(Model::kFull);
  c.print_debug_reports = false;
  Executive ex(c);
  ex.add_task({.name = "waker",
               .policy = Policy::kFifo,
               .priority = 5,
               .start_blocked = true,
               .body = [&](TaskApi& api) { api.wake(1); }});
  ex.add_task({.name = "bad", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 api.cond_resched();  // fine
                 api.preempt_disable();
                 api.cond_resched();  // BUG: sleeping function called from invalid context
                 api.wake(0);
                 api.block();  // BUG: scheduling while atomic (waker wakes us)
                 api.preempt_enable();
                 api.request_stop();
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(kRunBound);
  const auto& v = ex.result().vcpus[0];
  // cond_resched() in atomic context; block() with the count raised.
  EXPECT_EQ(v.might_sleep_bugs, 1u);
  EXPECT_EQ(v.schedule_while_atomic_bugs, 1u);
}

}  // namespace
