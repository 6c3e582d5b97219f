// Remote wakeups between two vCPUs: reschedule IPIs under FULL, none for a
// fair wakee under LAZY, the idle vCPU woken by an IPI, and NONE deferring to
// the next preemption point. Two vCPUs need both of this machine's CPUs, so
// these tests run the task threads at SCHED_OTHER, the waker's vCPU only
// sleeps and blocks, and the spinning task on the other vCPU stops as soon as
// the wakee has run (bounded at 200 ms). Time constants are multiplied by kS,
// time_scale() (emulator_guard.h): 1 natively.
#include <atomic>
#include <vector>

#include <gtest/gtest.h>

#include "emulator_guard.h"
#include "pb/executive/executive.h"

namespace {

using pb::exec::Config;
using pb::exec::Executive;
using pb::exec::Model;
using pb::exec::Point;
using pb::exec::Policy;
using pb::exec::RunResult;
using pb::exec::TaskApi;

constexpr int64_t kRunBound = 5'000'000'000;
constexpr int64_t kMs = 1'000'000;
const int64_t kS = pb::testing::time_scale();

size_t pidx(Point p) { return static_cast<size_t>(p); }

// How `task` first got the CPU on `v`.
pb::exec::DispatchRecord first_dispatch(const pb::exec::VcpuStats& v, pb::exec::TaskId task) {
  for (const auto& d : v.trace) {
    if (d.task == task) return d;
  }
  return {};
}

Config two_vcpus(Model m) {
  Config c;
  c.model = m;
  c.vcpus = 2;
  c.allow_system_cpu = true;
  c.use_fifo = false;
  c.hz = static_cast<int>(c.hz / kS);
  c.watchdog_budget_ns = 200 * kMs * kS;
  return c;
}

struct Outcome {
  bool started = false;
  int busy_chunks_when_wakee_ran = -1;  // -1: the wakee never ran
  bool busy_saw_wakee = false;          // the busy task noticed before its bound
  RunResult r;
};

constexpr int kBusyChunks = 200;  // x 1 ms, the bound

// vCPU 0: `busy` computes in kernel mode in 1 ms chunks (calling
// cond_resched() between chunks when asked), until the wakee has run;
// `wakee` (policy as given) starts blocked. vCPU 1: `waker` sleeps 5 ms,
// then wakes the wakee and exits. With `no_busy` vCPU 0 is idle.
Outcome remote_wakeup(Model m, Policy wakee_policy, bool busy_cond_resched, bool no_busy) {
  Outcome o;
  Executive ex(two_vcpus(m));
  std::atomic<int> chunks{0}, seen{-1};
  std::atomic<bool> wakee_ran{false}, busy_saw{false};
  const pb::exec::TaskId wakee = ex.add_task({.name = "wakee",
                                              .policy = wakee_policy,
                                              .priority = wakee_policy == Policy::kFair ? 0 : 50,
                                              .vcpu = 0,
                                              .start_blocked = true,
                                              .body = [&](TaskApi& api) {
                                                seen = chunks.load();
                                                wakee_ran = true;
                                                if (no_busy) api.request_stop();
                                              }});
  if (!no_busy) {
    ex.add_task({.name = "busy", .vcpu = 0, .body = [&](TaskApi& api) {
                   api.kernel_enter();
                   for (int i = 0; i < kBusyChunks && !wakee_ran.load(); ++i) {
                     api.compute(kMs * kS);
                     chunks.fetch_add(1);
                     if (busy_cond_resched) api.cond_resched();
                   }
                   busy_saw = wakee_ran.load();
                   api.cond_resched();
                   api.request_stop();
                 }});
  }
  ex.add_task({.name = "waker", .vcpu = 1, .body = [&, wakee](TaskApi& api) {
                 api.kernel_enter();
                 api.msleep(5 * kS);
                 api.wake(wakee);
               }});
  if (ex.start() != 0) {
    ADD_FAILURE() << ex.error();
    return o;
  }
  o.started = true;
  ex.run_for(kRunBound);
  o.busy_chunks_when_wakee_ran = wakee_ran ? seen.load() : -1;
  o.busy_saw_wakee = busy_saw;
  o.r = ex.result();
  return o;
}

TEST(ExecIpi, RemoteRtWakeupSendsAnIpiAndPreemptsUnderFull) {
  PB_SKIP_UNDER_EMULATOR();
  const Outcome o = remote_wakeup(Model::kFull, Policy::kFifo, false, false);
  ASSERT_TRUE(o.started);
  EXPECT_FALSE(o.r.watchdog_tripped) << o.r.watchdog_message;
  EXPECT_TRUE(o.busy_saw_wakee);
  EXPECT_GE(o.busy_chunks_when_wakee_ran, 0);
  const auto& v0 = o.r.vcpus[0];
  const auto& v1 = o.r.vcpus[1];
  EXPECT_EQ(v1.wakeups_remote, 1u);
  EXPECT_EQ(v1.ipis_sent, 1u);
  EXPECT_GE(v0.ipis_received, 1u);
  // The wakee got the CPU by preempting `busy` at the IPI's irq exit (later
  // dispatches, if host noise made slices expire, do not matter).
  const auto d = first_dispatch(v0, 0);
  EXPECT_EQ(d.cause, pb::exec::SwitchCause::kPreempt);
  EXPECT_EQ(d.point, Point::kIrqExitToKernel);
}

TEST(ExecIpi, RemoteFairWakeupUnderLazySendsNoIpiAndWaitsForTheTick) {
  PB_SKIP_UNDER_EMULATOR();
  const Outcome o = remote_wakeup(Model::kLazy, Policy::kFair, false, false);
  ASSERT_TRUE(o.started);
  EXPECT_FALSE(o.r.watchdog_tripped) << o.r.watchdog_message;
  EXPECT_TRUE(o.busy_saw_wakee);
  const auto& v0 = o.r.vcpus[0];
  const auto& v1 = o.r.vcpus[1];
  EXPECT_EQ(v1.wakeups_remote, 1u);
  EXPECT_EQ(v1.ipis_sent, 0u);
  EXPECT_EQ(v1.ipis_coalesced, 0u);
  EXPECT_EQ(v0.ipis_received, 0u);
  EXPECT_GE(v0.lazy_promotions, 1u);
  // Dispatched at a tick's irq exit, after the promotion.
  const auto d = first_dispatch(v0, 0);
  EXPECT_EQ(d.cause, pb::exec::SwitchCause::kPreempt);
  EXPECT_EQ(d.point, Point::kIrqExitToKernel);
}

TEST(ExecIpi, RemoteRtWakeupUnderLazyStillSendsAnIpi) {
  PB_SKIP_UNDER_EMULATOR();
  const Outcome o = remote_wakeup(Model::kLazy, Policy::kFifo, false, false);
  ASSERT_TRUE(o.started);
  EXPECT_TRUE(o.busy_saw_wakee);
  EXPECT_EQ(o.r.vcpus[1].ipis_sent, 1u);
  const auto d = first_dispatch(o.r.vcpus[0], 0);
  EXPECT_EQ(d.cause, pb::exec::SwitchCause::kPreempt);
  EXPECT_EQ(d.point, Point::kIrqExitToKernel);
}

TEST(ExecIpi, UnderNoneTheIpiArrivesButKernelCodeRunsOnToCondResched) {
  PB_SKIP_UNDER_EMULATOR();
  const Outcome o = remote_wakeup(Model::kNone, Policy::kFifo, true, false);
  ASSERT_TRUE(o.started);
  EXPECT_TRUE(o.busy_saw_wakee);
  const auto& v0 = o.r.vcpus[0];
  EXPECT_EQ(o.r.vcpus[1].ipis_sent, 1u);
  EXPECT_GE(v0.ipis_received, 1u);
  const auto d = first_dispatch(v0, 0);
  EXPECT_EQ(d.cause, pb::exec::SwitchCause::kPreempt);
  EXPECT_EQ(d.point, Point::kCondResched);
  EXPECT_EQ(v0.preemptions[pidx(Point::kIrqExitToKernel)], 0u);
}

TEST(ExecIpi, IdleVcpuIsWokenByAnIpi) {
  PB_SKIP_UNDER_EMULATOR();
  for (Model m : {Model::kNone, Model::kFull, Model::kLazy}) {
    for (Policy p : {Policy::kFair, Policy::kFifo}) {
      const Outcome o = remote_wakeup(m, p, false, true);
      ASSERT_TRUE(o.started);
      EXPECT_GE(o.busy_chunks_when_wakee_ran, 0) << to_string(m);
      // __resched_curr() on the idle task: always the full flag and an IPI.
      EXPECT_EQ(o.r.vcpus[1].ipis_sent, 1u) << to_string(m);
      EXPECT_GE(o.r.vcpus[0].idle_exits, 1u) << to_string(m);
    }
  }
}

}  // namespace
