// IrqLine (irq_line.h) against the kernel's generic IRQ layer: the ONESHOT
// mask from the hardirq to irq_finalize_oneshot(), IRQTF_RUNTHREAD as one bit
// (__irq_wake_thread(), irq_wait_for_interrupt()), the latch of a masked
// line, and the per-device counts. Deterministic timelines in integer ns.
#include "pb/executive/irq_line.h"

#include <cstdint>

#include <gtest/gtest.h>

namespace {

using pb::exec::IrqLine;
using pb::exec::IrqLineKind;
using pb::exec::IrqLineStats;

constexpr int64_t kUs = 1'000;

void ExpectIdentity(const IrqLine& l) {
  const IrqLineStats& s = l.stats();
  EXPECT_EQ(s.fired,
            s.delivered + s.coalesced + (l.pending_at_cpu() ? 1u : 0u) + (l.latched() ? 1u : 0u));
}

// A device firing every `period` on one CPU whose only other work is the IRQ
// thread: the hardirq is taken at once (when the line delivers), the thread
// runs as soon as it is woken unless `thread_delay` holds it off (a
// higher-priority task), and its handler takes `handler`. Returns the line.
IrqLine RunThreaded(IrqLineKind kind, int64_t period, int64_t handler, int64_t thread_delay,
                    int64_t duration) {
  IrqLine l(kind);
  int64_t thread_ready_at = -1;  // woken, runs from then
  int64_t handler_ends_at = -1;
  for (int64_t t = 0; t <= duration; t += 1 * kUs) {
    // The handler run ends (irq_finalize_oneshot, maybe a delivery at unmask).
    if (handler_ends_at == t) {
      handler_ends_at = -1;
      const bool deliver = l.handler_end(t);
      if (deliver) {
        const auto a = l.hardirq();  // taken when the thread re-enables IRQs
        EXPECT_FALSE(a.run_handler);
        EXPECT_TRUE(a.wake_thread);
      }
      if (l.runthread()) thread_ready_at = t;  // loops without sleeping
    }
    if (t % period == 0) {
      const bool was_masked = l.masked();
      const bool raise = l.fire(t);
      if (was_masked) {
        EXPECT_FALSE(raise) << "delivered through a masked line at " << t;
      }
      if (raise) {
        const auto a = l.hardirq();
        if (a.wake_thread) thread_ready_at = t + thread_delay;
      }
    }
    if (handler_ends_at < 0 && thread_ready_at >= 0 && t >= thread_ready_at) {
      thread_ready_at = -1;
      if (l.thread_take()) {
        l.handler_begin();
        handler_ends_at = t + handler;
      }
    }
  }
  return l;
}

// Forced threading under a rate above the thread's service rate: a firing
// every 100 us, a handler of 250 us. The line is masked from each hardirq to
// the end of the handler run that follows, so the firings in between are
// latched (one is delivered at the unmask, the rest coalesce): one hardirq
// and one handler run per 250 us, not one per firing.
TEST(IrqLine, OneshotCoalescesWhileTheThreadRuns) {
  const IrqLine l =
      RunThreaded(IrqLineKind::kThreadOneshot, 100 * kUs, 250 * kUs, 0, 100'000 * kUs);
  const IrqLineStats& s = l.stats();
  EXPECT_EQ(s.fired, 1001u);
  EXPECT_EQ(s.handled, s.delivered - (l.thread_running() ? 1 : 0));
  // 100 ms of 250 us runs back to back.
  EXPECT_NEAR(static_cast<double>(s.handled), 400.0, 2.0);
  EXPECT_GT(s.coalesced, 590u);
  EXPECT_EQ(s.wakeups_merged, 0u);  // masked: no hardirq while RUNTHREAD is set
  // A firing waits for the run in progress and then a full run of its own.
  EXPECT_LE(s.worst_fire_to_handled_ns, 500 * kUs);
  EXPECT_GE(s.worst_fire_to_handled_ns, 400 * kUs);
  ExpectIdentity(l);
}

// The same device with a handler faster than the rate: nothing coalesces,
// each firing is delivered and handled once, within the handler's time.
TEST(IrqLine, OneshotKeepsUpWhenTheThreadIsFastEnough) {
  const IrqLine l = RunThreaded(IrqLineKind::kThreadOneshot, 100 * kUs, 40 * kUs, 0, 10'050 * kUs);
  const IrqLineStats& s = l.stats();
  EXPECT_EQ(s.fired, 101u);
  EXPECT_EQ(s.delivered, 101u);
  EXPECT_EQ(s.handled, 101u);
  EXPECT_EQ(s.coalesced, 0u);
  EXPECT_EQ(s.worst_fire_to_handled_ns, 40 * kUs);
  ExpectIdentity(l);
}

// A thread held off for 1 ms (a higher-priority task runs): the line stays
// masked the whole time: the nine firings after the first make one latched
// interrupt (eight coalesce into it), still waiting for the thread.
TEST(IrqLine, OneshotThreadHeldOffServesTheBacklogInOneRun) {
  {
    const IrqLine l =
        RunThreaded(IrqLineKind::kThreadOneshot, 100 * kUs, 10 * kUs, 1'000 * kUs, 990 * kUs);
    const IrqLineStats& s = l.stats();
    EXPECT_EQ(s.fired, 10u);
    EXPECT_EQ(s.delivered, 1u);  // the first; the line has been masked since
    EXPECT_TRUE(l.latched());
    EXPECT_EQ(s.coalesced, 8u);
    EXPECT_EQ(s.handled, 0u);
    ExpectIdentity(l);
  }
  {  // the thread gets the CPU at 1 ms: its one run serves the eleven firings
    const IrqLine l =
        RunThreaded(IrqLineKind::kThreadOneshot, 100 * kUs, 10 * kUs, 1'000 * kUs, 1'050 * kUs);
    const IrqLineStats& s = l.stats();
    EXPECT_EQ(s.fired, 11u);
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_EQ(s.coalesced, 10u);
    EXPECT_EQ(s.handled, 1u);
    EXPECT_FALSE(l.masked());
    EXPECT_EQ(s.worst_fire_to_handled_ns, 1'010 * kUs);
    ExpectIdentity(l);
  }
}

// A requested thread without IRQF_ONESHOT: every firing is a hardirq (the line
// is never masked), the wakeups merge in RUNTHREAD, and the thread runs its
// handler once per wakeup.
TEST(IrqLine, SharedThreadMergesWakeupsNotInterrupts) {
  const IrqLine l = RunThreaded(IrqLineKind::kThreadShared, 100 * kUs, 250 * kUs, 0, 100'000 * kUs);
  const IrqLineStats& s = l.stats();
  EXPECT_EQ(s.fired, 1001u);
  EXPECT_EQ(s.delivered, 1001u);
  EXPECT_EQ(s.coalesced, 0u);
  EXPECT_NEAR(static_cast<double>(s.handled), 400.0, 2.0);
  EXPECT_EQ(s.wakeups_merged,
            s.delivered - s.handled - (l.runthread() ? 1u : 0u) - (l.thread_running() ? 1u : 0u));
  ExpectIdentity(l);
}

// A hardirq handler: a firing while the previous one is still pending at the
// CPU (IRQs off) merges into it; the handler runs once per hardirq.
TEST(IrqLine, HardirqMergesWhilePendingAtTheCpu) {
  IrqLine l(IrqLineKind::kHardirq);
  EXPECT_TRUE(l.fire(0));
  EXPECT_FALSE(l.fire(100 * kUs));  // IRQs still off
  EXPECT_FALSE(l.fire(200 * kUs));
  ExpectIdentity(l);
  const auto a = l.hardirq();  // IRQs on at 250 us
  EXPECT_TRUE(a.run_handler);
  EXPECT_FALSE(a.wake_thread);
  l.handler_begin();
  EXPECT_FALSE(l.handler_end(260 * kUs));
  EXPECT_EQ(l.stats().delivered, 1u);
  EXPECT_EQ(l.stats().coalesced, 2u);
  EXPECT_EQ(l.stats().handled, 1u);
  EXPECT_EQ(l.stats().worst_fire_to_handled_ns, 260 * kUs);
  // Never masked, so the next firing is a hardirq again.
  EXPECT_TRUE(l.fire(300 * kUs));
  ExpectIdentity(l);
}

// irq_finalize_oneshot(): the line is unmasked only after the handler run,
// and a firing during the run is delivered at that instant (not before).
TEST(IrqLine, UnmaskDeliversTheLatchedFiringAtTheEndOfTheRun) {
  IrqLine l(IrqLineKind::kThreadOneshot);
  ASSERT_TRUE(l.fire(0));
  EXPECT_TRUE(l.hardirq().wake_thread);
  EXPECT_TRUE(l.masked());
  ASSERT_TRUE(l.thread_take());
  EXPECT_FALSE(l.thread_take());  // one bit: one run
  l.handler_begin();
  EXPECT_FALSE(l.fire(50 * kUs));
  EXPECT_TRUE(l.latched());
  EXPECT_TRUE(l.handler_end(80 * kUs));  // unmask, the latched firing goes out
  EXPECT_FALSE(l.masked());
  EXPECT_TRUE(l.pending_at_cpu());
  EXPECT_TRUE(l.hardirq().wake_thread);
  ASSERT_TRUE(l.thread_take());
  l.handler_begin();
  EXPECT_FALSE(l.handler_end(100 * kUs));
  EXPECT_FALSE(l.masked());
  EXPECT_EQ(l.stats().delivered, 2u);
  EXPECT_EQ(l.stats().handled, 2u);
  EXPECT_EQ(l.stats().coalesced, 0u);
  EXPECT_EQ(l.stats().worst_fire_to_handled_ns, 80 * kUs);  // both waited 80 / 50 us
  ExpectIdentity(l);
}

// Late periods counted by the mechanism merge into the firing it saw.
TEST(IrqLine, MissedPeriodsCountAsCoalesced) {
  IrqLine l(IrqLineKind::kHardirq);
  ASSERT_TRUE(l.fire(0));
  l.fire_missed(3);
  EXPECT_EQ(l.stats().fired, 4u);
  EXPECT_EQ(l.stats().coalesced, 3u);
  ExpectIdentity(l);
}

}  // namespace
