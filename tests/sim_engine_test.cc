// The simulated clock's engine (sim/include/pb/sim/engine.h): the same
// mechanism facts the executive's tests check in real time (dispatch order,
// each model's preemption points, LAZY, RR, device interrupts and softirqs,
// masked interrupts, PI, spinning across vCPUs, IPIs, the debug reports),
// here exact to the nanosecond, plus the costs and determinism.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pb/sim/engine.h"

namespace {

using pb::exec::Model;
using pb::exec::Policy;
using pb::sim::DeviceSpec;
using pb::sim::LockSpec;
using pb::sim::SimOptions;
using pb::sim::SimResult;
using pb::sim::SimTask;
using pb::sim::Step;
using pb::sim::StepOp;
using pb::sim::System;
namespace ops = pb::sim::ops;

constexpr int64_t kUs = 1000;

SimOptions free_options() {
  SimOptions o;
  o.ctx_switch_ns = 0;
  o.irq_entry_ns = 0;
  o.ipi_ns = 0;
  o.duration_ns = 10'000'000'000;
  return o;
}

SimTask task(const char* name, Policy s, int prio, std::vector<Step> body, int64_t start_ns = -1) {
  SimTask t;
  t.name = name;
  t.policy = s;
  t.priority = prio;
  t.body = std::move(body);
  t.body.push_back(ops::simple(StepOp::kIterEnd));
  t.iterations = 1;
  t.start_ns = start_ns;
  return t;
}

Step mark() { return ops::simple(StepOp::kMark); }
Step kenter() { return ops::simple(StepOp::kKernelEnter); }
Step kexit() { return ops::simple(StepOp::kKernelExit); }

const pb::sim::TaskResult& named(const SimResult& r, const std::string& n) {
  for (const auto& t : r.tasks) {
    if (t.name == n) return t;
  }
  ADD_FAILURE() << "no task " << n;
  static pb::sim::TaskResult none;
  return none;
}

int64_t first_mark(const SimResult& r, const std::string& n) {
  const auto& t = named(r, n);
  return t.marks_ns.empty() ? -1 : t.marks_ns.front();
}

SimResult run(System s, Model m, SimOptions o = free_options()) {
  s.stop_when_done = true;
  return pb::sim::simulate(s, m, o);
}

TEST(SimEngine, DispatchOrderByPriorityFifoWithinPriority) {
  System s;
  s.tasks = {task("a50", Policy::kFifo, 50, {ops::compute(100 * kUs)}),
             task("b50", Policy::kFifo, 50, {ops::compute(100 * kUs)}),
             task("c60", Policy::kFifo, 60, {ops::compute(100 * kUs)}),
             task("fair", Policy::kFair, 0, {ops::compute(100 * kUs)})};
  const SimResult r = run(s, Model::kFull);
  std::vector<int> order;
  for (const auto& t : r.trace) order.push_back(t.task);
  // c60 first, then a50 and b50 in creation order, then the fair task, then idle.
  EXPECT_EQ(order, (std::vector<int>{2, 0, 1, 3, -1}));
  EXPECT_EQ(r.end_ns, 400 * kUs);
}

// A local wakeup from kernel code (complete() under guard(preempt)): FULL
// switches at that preempt_enable(), NONE and VOLUNTARY at the return to
// user, VOLUNTARY also at a might_sleep() before it.
TEST(SimEngine, WakeupPointPerModel) {
  auto sys = [](bool might_sleep) {
    System s;
    s.channels = {"ch"};
    std::vector<Step> low = {kenter(), ops::compute(100 * kUs), ops::send(0)};
    if (might_sleep) low.push_back(ops::simple(StepOp::kMightSleep));
    low.push_back(ops::compute(500 * kUs));
    low.push_back(kexit());
    s.tasks = {task("low", Policy::kFair, 0, low),
               task("high", Policy::kFifo, 90, {ops::recv(0), mark()})};
    return s;
  };
  EXPECT_EQ(first_mark(run(sys(false), Model::kFull), "high"), 100 * kUs);
  EXPECT_EQ(first_mark(run(sys(false), Model::kLazy), "high"), 100 * kUs);  // RT wakee: full flag
  EXPECT_EQ(first_mark(run(sys(false), Model::kRt), "high"), 100 * kUs);
  EXPECT_EQ(first_mark(run(sys(false), Model::kNone), "high"), 600 * kUs);
  EXPECT_EQ(first_mark(run(sys(false), Model::kVoluntary), "high"), 600 * kUs);
  EXPECT_EQ(first_mark(run(sys(true), Model::kVoluntary), "high"), 100 * kUs);
  EXPECT_EQ(first_mark(run(sys(true), Model::kNone), "high"), 600 * kUs);
}

// A release interrupt: FULL preempts at its exit; NONE waits for the next
// cond_resched() of the running kernel path.
TEST(SimEngine, CondReschedUnderNoneIrqExitUnderFull) {
  System s;
  s.tasks = {task("bg", Policy::kFair, 0, {kenter(), ops::compute(1000 * kUs, 100 * kUs), kexit()}),
             task("high", Policy::kFifo, 90, {mark()}, 150 * kUs)};
  EXPECT_EQ(first_mark(run(s, Model::kFull), "high"), 150 * kUs);
  EXPECT_EQ(first_mark(run(s, Model::kNone), "high"), 200 * kUs);
  EXPECT_EQ(first_mark(run(s, Model::kVoluntary), "high"), 200 * kUs);
  const SimResult r = run(s, Model::kNone);
  EXPECT_EQ(r.vcpus[0].preemptions[static_cast<size_t>(pb::exec::Point::kCondResched)], 1u);
}

// A fair wakee over a fair current: FULL switches at once, LAZY sets the lazy
// flag, which the next tick (4 ms at HZ 250) promotes; NONE waits for the
// return to user.
TEST(SimEngine, LazyWaitsForTheTick) {
  System s;
  s.tasks = {task("a", Policy::kFair, 0, {kenter(), ops::compute(20'000 * kUs), kexit()}),
             task("b", Policy::kFair, 0, {mark()}, 1'000 * kUs)};
  EXPECT_EQ(first_mark(run(s, Model::kFull), "b"), 1'000 * kUs);
  const SimResult lazy = run(s, Model::kLazy);
  EXPECT_EQ(first_mark(lazy, "b"), 4'000 * kUs);
  EXPECT_EQ(lazy.vcpus[0].lazy_promotions, 1u);
  EXPECT_EQ(first_mark(run(s, Model::kNone), "b"), 20'000 * kUs);
}

TEST(SimEngine, RoundRobinSliceAtTheTick) {
  SimOptions o = free_options();
  o.rr_timeslice_ns = 100'000'000;
  System s;
  s.tasks = {task("r1", Policy::kRr, 50, {ops::compute(300'000 * kUs)}),
             task("r2", Policy::kRr, 50, {ops::compute(300'000 * kUs)})};
  const SimResult r = run(s, Model::kFull, o);
  ASSERT_GE(r.trace.size(), 4u);
  EXPECT_EQ(r.trace[0].task, 0);
  EXPECT_EQ(r.trace[1].task, 1);
  EXPECT_EQ(r.trace[1].at_ns, 100'000 * kUs);
  EXPECT_EQ(r.trace[2].task, 0);
  EXPECT_EQ(r.trace[2].at_ns, 200'000 * kUs);
  EXPECT_GE(r.vcpus[0].rr_expiries, 3u);
}

System device_system(pb::exec::IrqFlags flags, int64_t softirq_us) {
  System s;
  DeviceSpec d;
  d.name = "dev";
  d.period_ns = 1'000 * kUs;
  d.handler_ns = 50 * kUs;
  d.softirq_ns = softirq_us * kUs;
  d.flags = flags;
  s.devices = {d};
  s.tasks = {task("bg", Policy::kFair, 0, {kenter(), ops::compute(10'500 * kUs), kexit()})};
  return s;
}

TEST(SimEngine, DeviceHandlerInHardirqOffRtInItsThreadOnRt) {
  const SimResult full = run(device_system(0, 0), Model::kFull);
  EXPECT_EQ(full.vcpus[0].irq_device, 10u);
  EXPECT_EQ(full.vcpus[0].irq_thread_wakeups, 0u);
  EXPECT_FALSE(full.devices[0].threaded);
  // The handler's time is the background's delay: 10.5 ms of work + 10 x 50 us.
  EXPECT_EQ(full.end_ns, 11'000 * kUs);
  const SimResult rt = run(device_system(0, 0), Model::kRt);
  EXPECT_EQ(rt.vcpus[0].irq_device, 0u);
  EXPECT_EQ(rt.vcpus[0].irq_thread_wakeups, 10u);
  EXPECT_TRUE(rt.devices[0].threaded);
  EXPECT_EQ(rt.devices[0].handled, 10u);
  // IRQF_NO_THREAD stays a hardirq on RT; a requested thread_fn is threaded everywhere.
  EXPECT_EQ(run(device_system(pb::exec::kIrqfNoThread, 0), Model::kRt).vcpus[0].irq_device, 10u);
  EXPECT_TRUE(run(device_system(pb::exec::kIrqfThreadFn, 0), Model::kFull).devices[0].threaded);
}

TEST(SimEngine, SoftirqsInlineOffRtAtBhEnableOrKsoftirqdOnRt) {
  const SimResult full = run(device_system(0, 20), Model::kFull);
  const uint64_t n = full.vcpus[0].irq_device;
  EXPECT_GT(n, 0u);
  EXPECT_EQ(full.vcpus[0].softirq_at_irq_exit, n);
  EXPECT_EQ(full.vcpus[0].softirq_ns, static_cast<int64_t>(n) * 20 * kUs);
  // Threaded on RT: raised in the thread, run at its local_bh_enable().
  const SimResult rt = run(device_system(0, 20), Model::kRt);
  EXPECT_EQ(rt.vcpus[0].softirq_at_irq_exit, 0u);
  EXPECT_GT(rt.devices[0].handled, 0u);
  EXPECT_EQ(rt.vcpus[0].softirq_at_bh_enable, rt.devices[0].handled);
  // IRQF_NO_THREAD on RT: raised in hardirq, handed to ksoftirqd.
  const SimResult nothread = run(device_system(pb::exec::kIrqfNoThread, 20), Model::kRt);
  EXPECT_EQ(nothread.vcpus[0].softirq_at_irq_exit, 0u);
  EXPECT_GE(nothread.vcpus[0].ksoftirqd_wakeups, 1u);
  EXPECT_GE(nothread.vcpus[0].softirq_in_ksoftirqd, 1u);
  EXPECT_EQ(nothread.vcpus[0].softirq_ns,
            static_cast<int64_t>(nothread.vcpus[0].irq_device) * 20 * kUs);
}

// An interrupt inside local_irq_save() waits, is taken once at the restore,
// and runs before the code after it.
TEST(SimEngine, MaskedInterruptReplayedOnceAtRestore) {
  System s;
  DeviceSpec d;
  d.name = "dev";
  d.period_ns = 10'000 * kUs;
  d.first_ns = 100 * kUs;
  d.handler_ns = 30 * kUs;
  s.devices = {d};
  s.tasks = {task("t", Policy::kFifo, 10,
                  {kenter(), ops::simple(StepOp::kIrqSave), ops::compute(500 * kUs),
                   ops::simple(StepOp::kIrqRestore), mark(), kexit()})};
  const SimResult r = run(s, Model::kFull);
  EXPECT_EQ(r.vcpus[0].irq_masked, 1u);
  EXPECT_EQ(r.vcpus[0].irq_replayed, 1u);
  EXPECT_EQ(r.devices[0].handled, 1u);
  EXPECT_EQ(first_mark(r, "t"), 530 * kUs);
  EXPECT_EQ(r.vcpus[0].irqsoff_max_ns, 500 * kUs);
  EXPECT_EQ(r.vcpus[0].irqsoff_where, "local_irq_save");
}

// Priority inheritance through rt_mutex: the boosted owner runs before the
// middle task; with a plain mutex off RT the middle task runs first.
TEST(SimEngine, PriorityInheritance) {
  auto sys = [](pb::exec::LockType t) {
    System s;
    s.locks = {LockSpec{"l", t}};
    s.tasks = {task("low", Policy::kFifo, 10,
                    {kenter(), ops::lock(0), ops::compute(1'000 * kUs), ops::unlock(0), kexit()}),
               task("high", Policy::kFifo, 90,
                    {kenter(), ops::lock(0), mark(), ops::unlock(0), kexit()}, 100 * kUs),
               task("mid", Policy::kFifo, 50, {ops::compute(5'000 * kUs)}, 200 * kUs)};
    return s;
  };
  const SimResult pi = run(sys(pb::exec::LockType::kRtMutex), Model::kFull);
  EXPECT_EQ(first_mark(pi, "high"), 1'000 * kUs);
  EXPECT_EQ(pi.locks[0].pi_boosts, 1u);
  EXPECT_EQ(pi.locks[0].contentions, 1u);
  EXPECT_EQ(pi.locks[0].max_wait_ns, 900 * kUs);
  EXPECT_EQ(first_mark(run(sys(pb::exec::LockType::kMutex), Model::kFull), "high"), 6'000 * kUs);
  EXPECT_EQ(first_mark(run(sys(pb::exec::LockType::kMutex), Model::kRt), "high"), 1'000 * kUs);
}

// A plain mutex's waiters queue in arrival order (__mutex_add_waiter():
// list_add_tail, kernel/locking/mutex.c) and the unlock hands the lock to
// the first (__mutex_unlock_slowpath() wakes the first waiter): the FIFO 10
// task that came first gets it before the FIFO 20 task that came later. An
// rt_mutex (a mutex on RT) orders them by priority (rt_mutex_enqueue()).
TEST(SimEngine, PlainMutexWaitersQueueInArrivalOrder) {
  System s;
  s.locks = {LockSpec{"l", pb::exec::LockType::kMutex}};
  s.tasks = {
      task("owner", Policy::kFair, 0,
           {kenter(), ops::lock(0), ops::compute(1'000 * kUs), ops::unlock(0), kexit()}),
      task("first", Policy::kFifo, 10,
           {kenter(), ops::lock(0), mark(), ops::compute(100 * kUs), ops::unlock(0), kexit()},
           100 * kUs),
      task("second", Policy::kFifo, 20,
           {kenter(), ops::lock(0), mark(), ops::compute(100 * kUs), ops::unlock(0), kexit()},
           200 * kUs)};
  const SimResult full = run(s, Model::kFull);
  EXPECT_EQ(first_mark(full, "first"), 1'000 * kUs);
  EXPECT_EQ(first_mark(full, "second"), 1'100 * kUs);
  const SimResult rt = run(s, Model::kRt);
  EXPECT_EQ(first_mark(rt, "second"), 1'000 * kUs);
  EXPECT_EQ(first_mark(rt, "first"), 1'100 * kUs);
}

// A PI chain (as exec_lock_test.cc): high waits for A held by mid, which
// waits for B held by low; low inherits high's priority through mid, so x
// (between them) cannot run before high has A.
TEST(SimEngine, PriorityInheritanceChain) {
  System s;
  s.locks = {LockSpec{"A", pb::exec::LockType::kRtMutex},
             LockSpec{"B", pb::exec::LockType::kRtMutex}};
  s.tasks = {task("low", Policy::kFifo, 10,
                  {kenter(), ops::lock(1), ops::compute(1'000 * kUs), ops::unlock(1), kexit()}),
             task("mid", Policy::kFifo, 15,
                  {kenter(), ops::lock(0), ops::lock(1), ops::unlock(1), ops::unlock(0), kexit()},
                  100 * kUs),
             task("high", Policy::kFifo, 90,
                  {kenter(), ops::lock(0), mark(), ops::unlock(0), kexit()}, 200 * kUs),
             task("x", Policy::kFifo, 50, {ops::compute(5'000 * kUs)}, 300 * kUs)};
  const SimResult r = run(s, Model::kFull);
  EXPECT_EQ(first_mark(r, "high"), 1'000 * kUs);
  EXPECT_EQ(r.locks[0].pi_boosts, 1u);  // mid by high
  EXPECT_EQ(r.locks[1].pi_boosts, 2u);  // low by mid, then low by high through the chain
}

// A spinning lock across two vCPUs: the waiter spins (consuming its CPU)
// until the holder on the other vCPU releases it.
TEST(SimEngine, SpinningAcrossVcpus) {
  SimOptions o = free_options();
  o.vcpus = 2;
  System s;
  s.locks = {LockSpec{"l", pb::exec::LockType::kRawSpinlock}};
  SimTask a = task("a", Policy::kFifo, 10,
                   {kenter(), ops::lock(0), ops::compute(500 * kUs), ops::unlock(0), kexit()});
  SimTask b = task("b", Policy::kFifo, 10,
                   {kenter(), ops::lock(0), mark(), ops::unlock(0), kexit()}, 100 * kUs);
  b.vcpu = 1;
  s.tasks = {a, b};
  const SimResult r = run(s, Model::kFull, o);
  EXPECT_EQ(first_mark(r, "b"), 500 * kUs);
  EXPECT_EQ(r.locks[0].contentions, 1u);
  EXPECT_EQ(r.locks[0].max_wait_ns, 400 * kUs);
  EXPECT_EQ(r.vcpus[1].kernel_ns, 400 * kUs);  // spinning is busy time
  EXPECT_EQ(r.vcpus[0].atomicity_breaks, 0u);
}

// A remote wakeup of a task on an idle vCPU: the full flag and an IPI, whose
// delivery (ipi_ns) and entry (irq_entry_ns) precede the dispatch
// (ctx_switch_ns).
TEST(SimEngine, RemoteWakeupCostsAnIpi) {
  SimOptions o = free_options();
  o.vcpus = 2;
  o.ipi_ns = 20 * kUs;
  o.irq_entry_ns = 1 * kUs;
  o.ctx_switch_ns = 2 * kUs;
  System s;
  s.channels = {"ch"};
  SimTask waker =
      task("waker", Policy::kFair, 0, {kenter(), ops::compute(100 * kUs), ops::send(0), kexit()});
  SimTask wakee = task("wakee", Policy::kFifo, 50, {ops::recv(0), mark()});
  wakee.vcpu = 1;
  s.tasks = {waker, wakee};
  const SimResult r = run(s, Model::kFull, o);
  // The wakee blocks at 0 (switching to idle costs 2 us on vCPU 1, the waker
  // starts at once on vCPU 0): waker sends at 100 us.
  EXPECT_EQ(first_mark(r, "wakee"), (100 + 20 + 1 + 2) * kUs);
  EXPECT_EQ(r.vcpus[0].ipis_sent, 1u);
  EXPECT_EQ(r.vcpus[0].wakeups_remote, 1u);
  EXPECT_EQ(r.vcpus[1].ipis_received, 1u);
  EXPECT_EQ(r.vcpus[1].irq_ipi, 1u);
}

// Costs: a periodic task's wakeup latency on an idle vCPU is the release
// interrupt's entry plus the switch.
TEST(SimEngine, CostsShowInTheWakeupLatency) {
  SimOptions o = free_options();
  o.irq_entry_ns = 1'000;
  o.ctx_switch_ns = 2'500;
  o.duration_ns = 100'000 * kUs;
  System s;
  SimTask t;
  t.name = "cyclic";
  t.policy = Policy::kFifo;
  t.priority = 90;
  t.period_ns = 1'000 * kUs;
  t.first_release_ns = 1'007 * kUs;  // never on a tick (4 ms at HZ 250)
  t.measure = true;
  t.body = {ops::simple(StepOp::kWaitPeriod), ops::compute(10 * kUs),
            ops::simple(StepOp::kIterEnd)};
  s.tasks = {t};
  const SimResult r = pb::sim::simulate(s, Model::kFull, o);
  const auto& c = named(r, "cyclic");
  ASSERT_TRUE(c.latency);
  EXPECT_GE(c.latency->count(), 99u);
  EXPECT_EQ(c.latency->min(), 3'500);
  EXPECT_EQ(c.latency->max(), 3'500);
}

TEST(SimEngine, DebugReports) {
  System leak;
  leak.tasks = {
      task("leaky", Policy::kFair, 0, {kenter(), ops::simple(StepOp::kPreemptOff), kexit()})};
  const SimResult r = run(leak, Model::kFull);
  EXPECT_EQ(r.vcpus[0].preempt_leaks, 1u);
  ASSERT_EQ(r.reports.size(), 1u);
  EXPECT_EQ(r.reports[0].title, "BUG: returning to user space with preempt_count");

  System sleepy;
  sleepy.locks = {LockSpec{"l", pb::exec::LockType::kSpinlock}};
  sleepy.tasks = {task("s", Policy::kFair, 0,
                       {kenter(), ops::lock(0), ops::sleep(100 * kUs), ops::unlock(0), kexit()})};
  // A sleep reaches schedule() without might_sleep() (hrtimer_nanosleep(),
  // like msleep()'s schedule_timeout()): schedule()'s own reports only.
  const SimResult full = run(sleepy, Model::kFull);
  EXPECT_EQ(full.vcpus[0].might_sleep_bugs, 0u);
  EXPECT_EQ(full.vcpus[0].schedule_while_atomic_bugs, 1u);
  EXPECT_EQ(full.vcpus[0].rcu_voluntary_switch_warnings, 0u);
  const SimResult rt = run(sleepy, Model::kRt);  // spinlock_t: count 0, rcu_read_lock() held
  EXPECT_EQ(rt.vcpus[0].might_sleep_bugs, 0u);
  EXPECT_EQ(rt.vcpus[0].schedule_while_atomic_bugs, 0u);
  EXPECT_EQ(rt.vcpus[0].rcu_voluntary_switch_warnings, 1u);
}

// Every decision is the policy module's: decisions are counted per point and
// reason, as the executive counts them.
TEST(SimEngine, DecisionsAreCountedByPointAndReason) {
  System s;
  s.tasks = {task("bg", Policy::kFair, 0, {kenter(), ops::compute(1000 * kUs, 100 * kUs), kexit()}),
             task("high", Policy::kFifo, 90, {mark()}, 150 * kUs)};
  const SimResult r = run(s, Model::kFull);
  const auto& d = r.vcpus[0].decisions;
  using pb::exec::Point;
  using pb::exec::Reason;
  // FULL: cond_resched() is compiled out (9 calls, model ignores it); the
  // release interrupt's exit switches.
  EXPECT_EQ(
      d[static_cast<size_t>(Point::kCondResched)][static_cast<size_t>(Reason::kModelIgnoresPoint)],
      9u);
  EXPECT_EQ(
      d[static_cast<size_t>(Point::kIrqExitToKernel)][static_cast<size_t>(Reason::kNeedResched)],
      1u);
}

System think_system() {
  System s;
  SimTask bg;
  bg.name = "bg";
  bg.body = {ops::compute(100 * kUs), ops::simple(StepOp::kIterEnd), ops::think(300 * kUs)};
  s.tasks = {bg};
  return s;
}

TEST(SimEngine, DeterministicForASeed) {
  SimOptions o;
  o.duration_ns = 200'000 * kUs;
  o.seed = 7;
  const SimResult a = pb::sim::simulate(think_system(), Model::kFull, o);
  const SimResult b = pb::sim::simulate(think_system(), Model::kFull, o);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.tasks[0].iterations, b.tasks[0].iterations);
  EXPECT_EQ(a.vcpus[0].idle_ns, b.vcpus[0].idle_ns);
  ASSERT_EQ(a.trace.size(), b.trace.size());
  for (size_t i = 0; i < a.trace.size(); ++i) EXPECT_EQ(a.trace[i].at_ns, b.trace[i].at_ns);
  o.seed = 8;
  const SimResult c = pb::sim::simulate(think_system(), Model::kFull, o);
  EXPECT_NE(a.vcpus[0].idle_ns, c.vcpus[0].idle_ns);  // the think times differ
}

TEST(SimEngine, RejectsBadSystems) {
  System s;
  s.tasks = {task("t", Policy::kFair, 0, {ops::lock(3)})};
  EXPECT_THROW(pb::sim::simulate(s, Model::kFull, free_options()), std::invalid_argument);
  System v;
  v.tasks = {task("t", Policy::kFair, 0, {ops::compute(1)})};
  v.tasks[0].vcpu = 2;
  EXPECT_THROW(pb::sim::simulate(v, Model::kFull, free_options()), std::invalid_argument);
}

}  // namespace
