// The executive's interrupts on one vCPU: the tick (RR slices, LAZY
// promotion), hrtimer wakeups and the irq-exit preemption decision, and the
// soft interrupt mask with replay. Interrupt timing is the host's, so every
// assertion is a relation noise cannot flip: the order of events, "at least
// one tick before the switch", "handled once, at enable". Spinning is
// bounded (tens of ms) and on the vCPU's CPU only. Every time constant (the
// tick, sleeps, compute bursts) is multiplied by kS, time_scale()
// (emulator_guard.h): 1 natively.
#include <sched.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "emulator_guard.h"
#include "pb/executive/executive.h"
#include "pb/sys.h"

namespace {

using pb::exec::Config;
using pb::exec::Executive;
using pb::exec::Model;
using pb::exec::Point;
using pb::exec::Policy;
using pb::exec::Reason;
using pb::exec::RunResult;
using pb::exec::TaskApi;

constexpr int64_t kRunBound = 5'000'000'000;
constexpr int64_t kMs = 1'000'000;
const int64_t kS = pb::testing::time_scale();

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
  std::array<int, 1024> ev_{};
  std::atomic<int> n_{0};
};

size_t pidx(Point p) { return static_cast<size_t>(p); }
size_t ridx(Reason r) { return static_cast<size_t>(r); }

// How `task` first got the CPU.
pb::exec::DispatchRecord first_dispatch(const pb::exec::VcpuStats& v, pb::exec::TaskId task) {
  for (const auto& d : v.trace) {
    if (d.task == task) return d;
  }
  return {};
}

Config config(Model m, int hz) {
  Config c;
  c.model = m;
  c.hz = static_cast<int>(std::max<int64_t>(1, hz / kS));
  c.watchdog_budget_ns = 200 * kMs * kS;
  return c;
}

int index_of(const std::vector<int>& v, int e) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == e) return static_cast<int>(i);
  }
  return -1;
}

// --- FIFO vs RR within a priority ------------------------------------------------------

// Two tasks at priority 50, each computing 20 ms in kernel mode with no
// preemption point. SCHED_FIFO: the first runs to completion. SCHED_RR with a
// 2 ms slice: the slice expires at a tick and the peer runs before the first
// is done.
// Under instruction emulation an unscaled first slice (2 ms) can run out
// before a's body reaches kernel_enter().
void two_at_same_priority(Policy policy, std::vector<int>* events, RunResult* out) {
  Config c = config(Model::kFull, 1000);
  c.rr_timeslice_ns = 2 * kMs * kS;
  Executive ex(c);
  Log log;
  std::atomic<int> done{0};
  for (int id = 0; id < 2; ++id) {
    ex.add_task({.name = id == 0 ? "a" : "b",
                 .policy = policy,
                 .priority = 50,
                 .body = [&, id](TaskApi& api) {
                   api.kernel_enter();
                   log.add(id * 10 + 1);  // start
                   api.compute(20 * kMs * kS);
                   log.add(id * 10 + 2);  // end
                   if (done.fetch_add(1) == 1) api.request_stop();
                 }});
  }
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(kRunBound);
  *events = log.events();
  *out = ex.result();
}

TEST(ExecTick, FifoRunsToCompletionWithinAPriority) {
  PB_SKIP_UNDER_EMULATOR();
  std::vector<int> ev;
  RunResult r;
  two_at_same_priority(Policy::kFifo, &ev, &r);
  EXPECT_EQ(ev, (std::vector<int>{1, 2, 11, 12}));
  EXPECT_EQ(r.vcpus[0].rr_expiries, 0u);
  EXPECT_EQ(r.vcpus[0].ctx_involuntary, 0u);
  EXPECT_GE(r.vcpus[0].ticks, 1u);
}

TEST(ExecTick, RoundRobinRotatesAtTheTick) {
  PB_SKIP_UNDER_EMULATOR();
  std::vector<int> ev;
  RunResult r;
  two_at_same_priority(Policy::kRr, &ev, &r);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0], 1);
  // b started before a ended.
  EXPECT_LT(index_of(ev, 11), index_of(ev, 2));
  const auto& v = r.vcpus[0];
  EXPECT_GE(v.rr_expiries, 1u);
  EXPECT_GE(v.preemptions[pidx(Point::kIrqExitToKernel)], 1u);
  EXPECT_EQ(v.ctx_involuntary, v.preemptions[pidx(Point::kIrqExitToKernel)]);
}

// --- LAZY promotion at the tick ---------------------------------------------------------

struct LazyOutcome {
  std::vector<int> events;
  uint64_t tick_at_wake = 0;
  uint64_t tick_at_run = 0;
  RunResult r;
};

// A fair task wakes another fair task and keeps computing in kernel mode,
// passing cond_resched() (a no-op under FULL and LAZY) every 100 us. The
// wakee wins (check_preempt_wakeup_fair()): the waker's request (a 100 us
// base slice) is over when the wakeup's update_curr() looks, since it has
// run 300 us with no tick (the only other update_curr()) since it last began
// one; update_deadline() renews it and the wakeup asks for a reschedule
// (resched_curr_lazy()). A wakee that wakes inside the waker's request
// waits for its end instead (RUN_TO_PARITY; exec_fair_test.cc).
LazyOutcome fair_wakes_fair(Model m) {
  LazyOutcome o;
  Config c = config(m, 250);
  c.base_slice_ns = 100'000;
  Executive ex(c);
  Log log;
  std::atomic<uint64_t> tick_at_wake{0}, tick_at_run{0};
  std::atomic<int> woken_ran{0};
  ex.add_task({.name = "wakee", .start_blocked = true, .body = [&](TaskApi& api) {
                 tick_at_run = api.vcpu_ticks();
                 woken_ran = 1;
                 log.add(2);
               }});
  ex.add_task({.name = "waker", .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 log.add(1);
                 // 300 us of runtime with no tick in it (retried if a tick
                 // came, e.g. across a host stall).
                 for (int i = 0; i < 100; ++i) {
                   const uint64_t t = api.vcpu_ticks();
                   api.compute(300'000);
                   if (api.vcpu_ticks() == t) break;
                 }
                 tick_at_wake = api.vcpu_ticks();
                 api.wake(0);
                 log.add(woken_ran.load() != 0 ? 11 : 10);  // right after the wakeup
                 for (int i = 0; i < 5000 && woken_ran.load() == 0; ++i) {
                   api.compute(100'000 * kS);
                   api.cond_resched();
                 }
                 log.add(3);
                 api.request_stop();
               }});
  if (ex.start() != 0) {
    ADD_FAILURE() << ex.error();
    return o;
  }
  ex.run_for(kRunBound);
  o.events = log.events();
  o.tick_at_wake = tick_at_wake;
  o.tick_at_run = tick_at_run;
  o.r = ex.result();
  return o;
}

TEST(ExecTick, LazyFairWakeeRunsOnlyAfterATick) {
  PB_SKIP_UNDER_EMULATOR();
  const LazyOutcome o = fair_wakes_fair(Model::kLazy);
  EXPECT_EQ(o.events, (std::vector<int>{1, 10, 2, 3}));
  EXPECT_GT(o.tick_at_run, o.tick_at_wake);
  const auto& v = o.r.vcpus[0];
  EXPECT_GE(v.lazy_promotions, 1u);
  const auto d = first_dispatch(v, 0);
  EXPECT_EQ(d.cause, pb::exec::SwitchCause::kPreempt);
  EXPECT_EQ(d.point, Point::kIrqExitToKernel);
  EXPECT_EQ(v.preemptions[pidx(Point::kPreemptEnable)], 0u);
  // The wakeup's preempt_enable() saw only the lazy flag.
  EXPECT_GE(v.decisions[pidx(Point::kPreemptEnable)][ridx(Reason::kLazyOnly)], 1u);
  EXPECT_EQ(v.ipis_sent, 0u);
}

TEST(ExecTick, FullFairWakeePreemptsAtOnce) {
  PB_SKIP_UNDER_EMULATOR();
  const LazyOutcome o = fair_wakes_fair(Model::kFull);
  EXPECT_EQ(o.events, (std::vector<int>{1, 2, 11, 3}));
  const auto& v = o.r.vcpus[0];
  EXPECT_EQ(v.lazy_promotions, 0u);
  const auto d = first_dispatch(v, 0);
  EXPECT_EQ(d.cause, pb::exec::SwitchCause::kPreempt);
  EXPECT_EQ(d.point, Point::kPreemptEnable);
}

// --- hrtimer wakeup and the irq-exit decision -------------------------------------------

struct IrqExitOutcome {
  int chunks_seen_by_rt = -1;  // low's progress when the RT task got the CPU
  RunResult r;
};

constexpr int kChunks = 30;  // x 1 ms

// An RT task sleeps 5 ms (an hrtimer); a fair task computes 30 x 1 ms with no
// preemption point, then calls cond_resched(). The hrtimer interrupt wakes
// the RT task on top of the fair one.
IrqExitOutcome rt_wakes_from_hrtimer(Model m, bool low_in_user_mode) {
  IrqExitOutcome o;
  Executive ex(config(m, 250));
  std::atomic<int> chunks{0}, seen{-1};
  ex.add_task({.name = "rt", .policy = Policy::kFifo, .priority = 50, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 api.msleep(5 * kS);
                 seen = chunks.load();
               }});
  ex.add_task({.name = "low", .body = [&](TaskApi& api) {
                 if (!low_in_user_mode) api.kernel_enter();
                 for (int i = 0; i < kChunks; ++i) {
                   api.compute(kMs * kS);
                   chunks.fetch_add(1);
                 }
                 api.cond_resched();
                 api.request_stop();
               }});
  if (ex.start() != 0) {
    ADD_FAILURE() << ex.error();
    return o;
  }
  ex.run_for(kRunBound);
  o.chunks_seen_by_rt = seen;
  o.r = ex.result();
  return o;
}

TEST(ExecIrqExit, FullPreemptsKernelCodeAtIrqExit) {
  PB_SKIP_UNDER_EMULATOR();
  const IrqExitOutcome o = rt_wakes_from_hrtimer(Model::kFull, false);
  EXPECT_GE(o.chunks_seen_by_rt, 0);
  EXPECT_LT(o.chunks_seen_by_rt, kChunks);
  const auto& v = o.r.vcpus[0];
  EXPECT_EQ(v.preemptions[pidx(Point::kIrqExitToKernel)], 1u);
  EXPECT_GE(v.hrtimers_expired, 1u);
}

TEST(ExecIrqExit, NoneDoesNotPreemptKernelCode) {
  PB_SKIP_UNDER_EMULATOR();
  const IrqExitOutcome o = rt_wakes_from_hrtimer(Model::kNone, false);
  EXPECT_EQ(o.chunks_seen_by_rt, kChunks);
  const auto& v = o.r.vcpus[0];
  EXPECT_EQ(v.preemptions[pidx(Point::kIrqExitToKernel)], 0u);
  EXPECT_EQ(v.preemptions[pidx(Point::kCondResched)], 1u);
  EXPECT_GE(v.decisions[pidx(Point::kIrqExitToKernel)][ridx(Reason::kModelIgnoresPoint)], 1u);
}

TEST(ExecIrqExit, NonePreemptsUserCodeAtIrqExit) {
  PB_SKIP_UNDER_EMULATOR();
  const IrqExitOutcome o = rt_wakes_from_hrtimer(Model::kNone, true);
  EXPECT_GE(o.chunks_seen_by_rt, 0);
  EXPECT_LT(o.chunks_seen_by_rt, kChunks);
  EXPECT_EQ(o.r.vcpus[0].preemptions[pidx(Point::kReturnToUser)], 1u);
}

// --- soft interrupt mask ---------------------------------------------------------------

TEST(ExecSoftMask, TickWhileMaskedIsHandledOnceAtEnable) {
  PB_SKIP_UNDER_EMULATOR();
  Executive ex(config(Model::kFull, 100));
  std::atomic<int64_t> t0{-1}, before_enable{-1}, after_enable{-1};
  std::atomic<int> saw_pending{0};
  ex.add_task(
      {.name = "masker", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
         api.kernel_enter();
         api.local_irq_disable();
         t0 = static_cast<int64_t>(api.vcpu_ticks());
         // Wait (bounded) for the tick to arrive and stay pending.
         for (int i = 0; i < 2000 && !api.interrupt_pending(); ++i) api.compute(100'000 * kS);
         saw_pending = api.interrupt_pending() ? 1 : 0;
         api.compute(25 * kMs * kS);  // 2.5 more tick periods, still masked
         before_enable = static_cast<int64_t>(api.vcpu_ticks());
         api.local_irq_enable();  // replay
         api.local_irq_disable();
         after_enable = static_cast<int64_t>(api.vcpu_ticks());
         api.local_irq_enable();
         api.request_stop();
       }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(kRunBound);
  ASSERT_EQ(saw_pending.load(), 1);
  EXPECT_EQ(before_enable.load(), t0.load());     // nothing handled while masked
  EXPECT_EQ(after_enable.load(), t0.load() + 1);  // exactly one tick, at enable
  const auto& v = ex.result().vcpus[0];
  EXPECT_GE(v.irq_masked, 1u);
  EXPECT_GE(v.irq_replayed, 1u);
  EXPECT_GE(v.ticks_missed, 1u);  // the periods that passed without their own tick
}

TEST(ExecSoftMask, SaveRestoreNestsAndOnlyTheOuterRestoreReplays) {
  PB_SKIP_UNDER_EMULATOR();
  Executive ex(config(Model::kFull, 100));
  std::atomic<int64_t> t0{-1}, inner{-1}, outer{-1};
  ex.add_task({.name = "nest", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 const unsigned long f1 = api.local_irq_save();
                 const unsigned long f2 = api.local_irq_save();
                 t0 = static_cast<int64_t>(api.vcpu_ticks());
                 for (int i = 0; i < 2000 && !api.interrupt_pending(); ++i)
                   api.compute(100'000 * kS);
                 api.local_irq_restore(f2);  // still disabled
                 inner = static_cast<int64_t>(api.vcpu_ticks());
                 api.local_irq_restore(f1);  // enabled: replay
                 api.local_irq_disable();
                 outer = static_cast<int64_t>(api.vcpu_ticks());
                 api.local_irq_enable();
                 api.request_stop();
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(kRunBound);
  EXPECT_EQ(inner.load(), t0.load());
  EXPECT_EQ(outer.load(), t0.load() + 1);
}

// A wakeup raised by an interrupt replayed at local_irq_enable() preempts at
// the replayed interrupt's exit (FULL), not at the enable itself.
TEST(ExecSoftMask, ReplayedHrtimerWakeupPreemptsAtItsIrqExit) {
  PB_SKIP_UNDER_EMULATOR();
  PB_SKIP_UNDER_SYSTEM_EMULATOR(
      "the RT task's sleep must outlast the low task's way from its first dispatch to "
      "local_irq_disable(); translating that code on its first run, plus host stalls, took "
      "longer than even the scaled 20 ms");
  Executive ex(config(Model::kFull, 250));
  std::atomic<int> progress{0}, seen{-1};
  ex.add_task({.name = "rt", .policy = Policy::kFifo, .priority = 50, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 api.msleep(2 * kS);
                 seen = progress.load();
               }});
  ex.add_task({.name = "low", .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 api.local_irq_disable();
                 for (int i = 0; i < 2000 && !api.interrupt_pending(); ++i)
                   api.compute(100'000 * kS);
                 api.compute(5 * kMs * kS);  // past the RT task's expiry, masked
                 progress = 1;
                 api.local_irq_enable();  // the hrtimer interrupt runs here
                 progress = 2;
                 api.request_stop();
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(kRunBound);
  EXPECT_EQ(seen.load(), 1);
  const auto& v = ex.result().vcpus[0];
  EXPECT_EQ(v.preemptions[pidx(Point::kIrqExitToKernel)], 1u);
  EXPECT_GE(v.irq_replayed, 1u);
}

// --- PREEMPT_RT hosts ---------------------------------------------------------------------
//
// There the POSIX timers behind the emulated interrupts expire in the timer
// softirq thread ktimers/N (SCHED_FIFO 1), below our task threads. For the
// run the executive raises ktimers/N of the vCPU's CPU above them, and puts
// it back at stop(): the tick then reaches a task that computes without
// ever blocking.
bool host_is_preempt_rt() {
  std::ifstream in("/sys/kernel/realtime");
  int v = 0;
  return static_cast<bool>(in >> v) && v == 1;
}

// PID of each ktimers/N thread, by CPU (0 where there is none).
std::vector<pid_t> timer_threads() {
  std::vector<pid_t> by_cpu(CPU_SETSIZE, 0);
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::ifstream in(e.path() / "comm");
    std::string name;
    if (!std::getline(in, name) || name.rfind("ktimers/", 0) != 0) continue;
    const int cpu = std::stoi(name.substr(8));
    if (cpu >= 0 && cpu < CPU_SETSIZE)
      by_cpu[static_cast<size_t>(cpu)] = std::stoi(e.path().filename().string());
  }
  return by_cpu;
}

int fifo_priority(pid_t pid) {
  sched_param p{};
  if (::sched_getscheduler(pid) != SCHED_FIFO || ::sched_getparam(pid, &p) != 0) return 0;
  return p.sched_priority;
}

TEST(ExecRtHost, TimerSoftirqThreadOutranksTheTasksForTheRun) {
  PB_SKIP_UNDER_EMULATOR();
  if (!host_is_preempt_rt()) GTEST_SKIP() << "not a PREEMPT_RT host (/sys/kernel/realtime)";
  if (pb::sys::can_use_fifo(98) != 1) GTEST_SKIP() << "needs SCHED_FIFO (root or CAP_SYS_NICE)";
  const std::vector<pid_t> threads = timer_threads();
  std::vector<int> before;
  for (pid_t p : threads) before.push_back(p != 0 ? fifo_priority(p) : 0);
  Executive ex(config(Model::kFull, 250));
  std::atomic<int> cpu{-1}, during{-1};
  ex.add_task({.name = "spin", .policy = Policy::kFifo, .priority = 98, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 const int c = pb::sys::current_cpu();
                 cpu = c;
                 // sched_getparam: a system call, no allocation or libc lock.
                 if (c >= 0 && threads[static_cast<size_t>(c)] != 0)
                   during = fifo_priority(threads[static_cast<size_t>(c)]);
                 api.compute(40 * kMs * kS);  // never blocks: only interrupts reach it
                 api.request_stop();
               }});
  ASSERT_EQ(ex.start(), 0) << ex.error();
  ex.run_for(kRunBound);
  const RunResult& r = ex.result();
  ASSERT_GE(cpu.load(), 0);
  const pid_t ktimers = threads[static_cast<size_t>(cpu.load())];
  ASSERT_NE(ktimers, 0) << "no ktimers/" << cpu.load() << " thread on this PREEMPT_RT host";
  EXPECT_EQ(during.load(), 99);
  const int was = before[static_cast<size_t>(cpu.load())];
  EXPECT_EQ(fifo_priority(ktimers), was);  // put back
  bool noted = false;
  for (const auto& n : r.notes) noted = noted || n.find("ktimers/") != std::string::npos;
  EXPECT_EQ(noted, was < 99);  // raised (and said so) unless the host had done it
  // 40 ms is 10 ticks: at least one reached the spinning task.
  EXPECT_GE(r.vcpus[0].ticks, 1u);
  EXPECT_GE(r.vcpus[0].irq_timer, 1u);
}

}  // namespace
