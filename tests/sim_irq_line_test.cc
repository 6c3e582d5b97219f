// Device lines in simulated time: the engine runs each device through
// irq_line.h, as the kernel's generic IRQ layer runs a line (kernel/irq/
// chip.c handle_fasteoi_irq() and cond_unmask_eoi_irq(), kernel/irq/manage.c
// irq_thread(), irq_wait_for_interrupt() and irq_finalize_oneshot()). Exact
// to the nanosecond (no costs), so the counts are worked out by hand.
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "pb/sim/engine.h"

namespace {

using pb::exec::Model;
using pb::sim::DeviceResult;
using pb::sim::DeviceSpec;
using pb::sim::SimOptions;
using pb::sim::SimResult;
using pb::sim::System;

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

// A device firing every `period` from `period` on, with a `handler` of work;
// nothing else on the vCPU.
SimResult run_device(Model m, int64_t period, int64_t handler, int64_t duration) {
  System s;
  DeviceSpec d;
  d.name = "dev";
  d.period_ns = period;
  d.handler_ns = handler;
  s.devices = {d};
  return pb::sim::simulate(s, m, free_options(duration));
}

// Forced threading on RT makes the line ONESHOT: the hardirq masks it and
// wakes the thread (__irq_wake_thread() sets IRQTF_RUNTHREAD); firings while
// the thread's 250 us handler runs are latched by the masked line, and
// irq_finalize_oneshot() unmasks it at the handler's end, where the latch is
// delivered as one interrupt. Interrupts every 100 us against a 250 us
// handler: back-to-back handler runs starting at 100 + 250k us, each one
// delivered interrupt; of the firings in between, one is latched and the
// rest coalesce. 100 ms ([0, 100 ms)): 999 firings (100 us .. 99.9 ms), runs
// starting at 100, 350, ..., 99850 us: 400 delivered, 399 finished (the last
// is still running at the end, the firing at 99.9 ms latched). A run that
// begins at s has read the device at s: a firing at that very instant is
// latched and served by the next run, which ends 2 x 250 us later, the worst
// firing-to-handled time.
TEST(SimIrqLine, OneshotLineCoalescesWhileItsThreadRuns) {
  const SimResult r = run_device(Model::kRt, 100 * kUs, 250 * kUs, 100 * kMs);
  ASSERT_EQ(r.devices.size(), 1u);
  const DeviceResult& d = r.devices[0];
  EXPECT_TRUE(d.threaded);
  EXPECT_EQ(d.fired, 999u);
  EXPECT_EQ(d.delivered, 400u);
  EXPECT_EQ(d.handled, 399u);
  EXPECT_TRUE(d.pending);
  // Every firing got a hardirq of its own, merged, or is the latched one.
  EXPECT_EQ(d.fired, d.delivered + d.coalesced + 1);
  EXPECT_EQ(d.worst_fire_to_handled_ns, 500 * kUs);
  // One thread wakeup per delivered interrupt, never one per firing.
  EXPECT_EQ(r.vcpus[0].irq_thread_wakeups, d.delivered);
}

// The same device with a 40 us handler keeps up: the line is unmasked before
// the next firing, nothing coalesces, and each firing is handled 40 us later.
TEST(SimIrqLine, OneshotLineThatKeepsUpDeliversEveryFiring) {
  const SimResult r = run_device(Model::kRt, 100 * kUs, 40 * kUs, 10 * kMs);
  const DeviceResult& d = r.devices[0];
  EXPECT_TRUE(d.threaded);
  EXPECT_EQ(d.fired, 99u);  // 100 us .. 9.9 ms
  EXPECT_EQ(d.delivered, 99u);
  EXPECT_EQ(d.coalesced, 0u);
  EXPECT_EQ(d.handled, 99u);
  EXPECT_EQ(d.worst_fire_to_handled_ns, 40 * kUs);
}

// Off RT the handler runs in the hardirq (no thread, no mask): a 250 us
// handler against 100 us firings keeps the vCPU in hardirq, and a firing
// while the previous hardirq still runs merges into the one pending bit of
// the vector (at most one interrupt pending at the CPU). Each delivered
// interrupt is handled in place.
TEST(SimIrqLine, HardirqHandlerMergesFiringsIntoThePendingInterrupt) {
  const SimResult r = run_device(Model::kFull, 100 * kUs, 250 * kUs, 100 * kMs);
  const DeviceResult& d = r.devices[0];
  EXPECT_FALSE(d.threaded);
  EXPECT_EQ(d.fired, 999u);
  EXPECT_GE(d.delivered, d.handled);
  EXPECT_LE(d.delivered, d.handled + 1);
  EXPECT_GT(d.coalesced, 0u);
  EXPECT_EQ(r.vcpus[0].irq_thread_wakeups, 0u);
}

// RT's local_bh_enable() (__local_bh_enable_ip(), kernel/softirq.c,
// CONFIG_PREEMPT_RT): softirqs a hardirq device (IRQF_NO_THREAD) raises while
// a task holds BH off wait for the end of its section (irq exit does not
// wake ksoftirqd then, should_wake_ksoftirqd()); they run inline there when
// the task is preemptible and go to ksoftirqd when preemption is disabled
// around the section. (As exec_device_test.cc's
// RtBhEnableRunsSoftirqsInlineOnlyWhenPreemptible.)
TEST(SimIrqLine, RtBhEnableRunsSoftirqsInlineOnlyWhenPreemptible) {
  namespace ops = pb::sim::ops;
  using pb::sim::StepOp;
  for (bool preempt_off : {false, true}) {
    SCOPED_TRACE(preempt_off ? "preemption off" : "preemptible");
    System s;
    DeviceSpec d;
    d.name = "dev";
    d.period_ns = 1 * kMs;
    d.handler_ns = 20 * kUs;
    d.softirq_ns = 30 * kUs;
    d.flags = pb::exec::kIrqfNoThread;
    s.devices = {d};
    pb::sim::SimTask t;
    t.name = "work";
    t.policy = pb::exec::Policy::kFifo;
    t.priority = 60;
    t.iterations = 1;
    t.body = {ops::simple(StepOp::kKernelEnter)};
    if (preempt_off) t.body.push_back(ops::simple(StepOp::kPreemptOff));
    t.body.push_back(ops::simple(StepOp::kBhOff));
    t.body.push_back(ops::compute(20 * kMs + 500 * kUs));
    t.body.push_back(ops::simple(StepOp::kBhOn));
    if (preempt_off) t.body.push_back(ops::simple(StepOp::kPreemptOn));
    t.body.push_back(ops::simple(StepOp::kKernelExit));
    t.body.push_back(ops::simple(StepOp::kIterEnd));
    s.tasks = {t};
    const SimResult r = pb::sim::simulate(s, Model::kRt, free_options(30 * kMs));
    const auto& v = r.vcpus[0];
    EXPECT_GE(v.softirq_deferred, 20u);
    if (preempt_off) {
      EXPECT_EQ(v.softirq_at_bh_enable, 0u);
      EXPECT_GE(v.ksoftirqd_wakeups, 1u);
      EXPECT_GE(v.softirq_in_ksoftirqd, 1u);
    } else {
      EXPECT_EQ(v.softirq_at_bh_enable, 1u);
    }
  }
}

}  // namespace
