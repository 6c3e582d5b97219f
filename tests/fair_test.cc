// The fair class (fair.h) against the kernel's EEVDF (kernel/sched/fair.c,
// 6.12-6.18). Each test names the kernel function whose behaviour it states.
// Expected values are worked out by hand from the kernel's formulas (in the
// comments) or are relations the kernel guarantees; nothing here calls the
// module to compute an expected value. All deterministic: virtual time only.
#include "pb/executive/fair.h"

#include <array>
#include <cstdint>
#include <cstdlib>

#include <gtest/gtest.h>

namespace {

using pb::exec::calc_delta_fair;
using pb::exec::default_base_slice_ns;
using pb::exec::fair_params_for;
using pb::exec::FairDequeue;
using pb::exec::FairEnqueue;
using pb::exec::FairEntity;
using pb::exec::FairParams;
using pb::exec::FairRunQueue;
using pb::exec::nice_weight;
using pb::exec::nice_wmult;
using pb::exec::TunableScaling;

constexpr int64_t kUs = 1'000;
constexpr int64_t kMs = 1'000'000;

// One CPU, HZ 250: base slice 0.70 ms, TICK_NSEC 4 ms.
FairParams OneCpu() { return fair_params_for(1, 250); }

FairEntity Entity(int nice = 0) {
  FairEntity e;
  e.set_nice(nice);
  return e;
}

// V - v for an entity, as the kernel defines lag (virtual ns).
int64_t Lag(FairRunQueue& rq, const FairEntity& e) {
  return static_cast<int64_t>(rq.avg_vruntime() - e.vruntime);
}

// --- weights and scaling -----------------------------------------------------------------

// sched_prio_to_weight[] / sched_prio_to_wmult[] (kernel/sched/core.c).
TEST(FairWeights, TableEndsAndSteps) {
  EXPECT_EQ(nice_weight(0), 1024u);
  EXPECT_EQ(nice_weight(-20), 88761u);
  EXPECT_EQ(nice_weight(19), 15u);
  EXPECT_EQ(nice_wmult(0), 4194304u);  // 2^32 / 1024
  for (int n = -20; n < 19; ++n) {
    const double step = static_cast<double>(nice_weight(n)) / nice_weight(n + 1);
    EXPECT_GT(step, 1.19) << n;  // "each nice level is ~10% of CPU": a 1.25x weight step
    EXPECT_LT(step, 1.31) << n;
    // wmult is 2^32 / weight, rounded.
    const double inv = 4294967296.0 / nice_weight(n);
    EXPECT_LT(std::abs(inv - nice_wmult(n)), 1.0) << n;
  }
  EXPECT_FALSE(pb::exec::nice_valid(20));
  EXPECT_FALSE(pb::exec::nice_valid(-21));
}

// calc_delta_fair() / __calc_delta(): delta * 1024 / weight in 32.32 fixed
// point, truncating like the kernel.
TEST(FairWeights, CalcDeltaFairRoundsLikeTheKernel) {
  // Nice 0 is the identity.
  EXPECT_EQ(calc_delta_fair(123'456'789, 1024, nice_wmult(0)), 123'456'789u);
  // Nice 19: fact = 1024 * 286331153 = 0x4444444400 (39 bits) -> fls(0x44) = 7,
  // shift 32 - 7 = 25, fact >> 7 = 2290649224; 1e6 * 2290649224 >> 25 =
  // 68266666 (exact 68266666.67).
  EXPECT_EQ(calc_delta_fair(1'000'000, 15, nice_wmult(19)), 68'266'666u);
  // Nice -20: 1024 * 48388 fits in 32 bits (49549312), shift stays 32:
  // 1e6 * 49549312 >> 32 = 11536 (exact 11536.6).
  EXPECT_EQ(calc_delta_fair(1'000'000, 88761, nice_wmult(-20)), 11'536u);
  // Everywhere within 2^-20 of the exact quotient.
  for (int n = -20; n <= 19; ++n) {
    const uint64_t d = 3'000'000;
    const double exact = static_cast<double>(d) * 1024.0 / nice_weight(n);
    const double got = static_cast<double>(calc_delta_fair(d, nice_weight(n), nice_wmult(n)));
    EXPECT_LE(std::abs(got - exact), exact / (1 << 20) + 1.0) << n;
  }
}

// get_update_sysctl_factor() and update_sysctl(): base slice = 0.70 ms x
// (1 + ilog2(min(cpus, 8))) by default.
TEST(FairBaseSlice, ScalesWithTheCpuCountLikeTheKernel) {
  EXPECT_EQ(default_base_slice_ns(1), 700'000u);
  EXPECT_EQ(default_base_slice_ns(2), 1'400'000u);
  EXPECT_EQ(default_base_slice_ns(3), 1'400'000u);
  EXPECT_EQ(default_base_slice_ns(4), 2'100'000u);
  EXPECT_EQ(default_base_slice_ns(7), 2'100'000u);
  EXPECT_EQ(default_base_slice_ns(8), 2'800'000u);
  EXPECT_EQ(default_base_slice_ns(64), 2'800'000u);  // capped at 8 CPUs
  EXPECT_EQ(default_base_slice_ns(0), 700'000u);     // never below one CPU
  EXPECT_EQ(default_base_slice_ns(4, TunableScaling::kLinear), 2'800'000u);
  EXPECT_EQ(default_base_slice_ns(16, TunableScaling::kLinear), 5'600'000u);
  EXPECT_EQ(default_base_slice_ns(16, TunableScaling::kNone), 700'000u);
}

// base_slice_ns written by hand (debugfs) replaces the scaled value; TICK_NSEC
// from HZ.
TEST(FairBaseSlice, OverrideAndTick) {
  EXPECT_EQ(fair_params_for(2, 250).base_slice_ns, 1'400'000u);
  EXPECT_EQ(fair_params_for(2, 250, 3'000'000).base_slice_ns, 3'000'000u);
  EXPECT_EQ(fair_params_for(2, 250).tick_ns, 4'000'000u);
  EXPECT_EQ(fair_params_for(2, 1000).tick_ns, 1'000'000u);
  EXPECT_EQ(fair_params_for(2, 300).tick_ns, 3'333'333u);
}

// --- placement and the average -------------------------------------------------------------

// place_entity() with PLACE_DEADLINE_INITIAL: a new task starts at V with half
// a request; avg_vruntime() is the weighted mean of the queued vruntimes.
TEST(FairPlace, NewTasksStartAtTheAverageWithHalfASlice) {
  FairRunQueue rq(OneCpu());
  FairEntity a = Entity(), b = Entity();
  rq.enqueue(&a, 0, FairEnqueue::kInitial);
  const uint64_t v0 = a.vruntime;
  EXPECT_EQ(a.deadline - a.vruntime, 350'000u);
  rq.enqueue(&b, 0, FairEnqueue::kInitial);
  EXPECT_EQ(b.vruntime, v0);  // zero lag: at V
  EXPECT_EQ(rq.nr_queued(), 2u);
  EXPECT_EQ(rq.avg_vruntime(), v0);
  // Ties on the deadline keep queueing order (rb_add_cached() goes right).
  EXPECT_EQ(rq.first(), &a);
  EXPECT_EQ(rq.pick_next(0), &a);
}

// avg_vruntime() weights each vruntime by its load and rounds towards -inf;
// entity_eligible() is exact (no division).
TEST(FairPlace, WeightedAverageAndEligibility) {
  FairRunQueue rq(OneCpu());
  FairEntity a = Entity(0), b = Entity(5);  // 1024 and 335
  rq.enqueue(&a, 0, FairEnqueue::kWakeup);
  rq.enqueue(&b, 0, FairEnqueue::kWakeup);
  ASSERT_EQ(rq.pick_next(0), &a);
  // a runs 1.359 ms: v_a += 1359000 (nice 0). V = v0 + 1024 * 1359000 / 1359
  // = v0 + 1024000 exactly.
  const uint64_t v0 = b.vruntime;
  rq.update_curr(1'359'000);
  EXPECT_EQ(a.vruntime - v0, 1'359'000u);
  EXPECT_EQ(rq.avg_vruntime() - v0, 1'024'000u);
  EXPECT_TRUE(rq.eligible(&b));
  EXPECT_FALSE(rq.eligible(&a));
  // Exactly at V is eligible (lag 0 counts as owed, "lag >= 0").
  EXPECT_TRUE(rq.vruntime_eligible(v0 + 1'024'000));
  EXPECT_FALSE(rq.vruntime_eligible(v0 + 1'024'001));
}

// --- lag across sleep ---------------------------------------------------------------------

// dequeue_entity() -> update_entity_lag() saves V - v; place_entity()
// (PLACE_LAG) inflates it by (W + w) / W so that after the wakee joins the
// average its lag is the saved one: a sleeper that was owed service is still
// owed it, and (check_preempt_wakeup_fair()) being eligible with the earlier
// deadline it preempts a task that has run ahead of V.
TEST(FairLag, PositiveLagSurvivesSleepAndTheSleeperPreempts) {
  FairRunQueue rq(OneCpu());
  FairEntity a = Entity(), b = Entity();
  rq.enqueue(&a, 0, FairEnqueue::kWakeup);
  rq.enqueue(&b, 0, FairEnqueue::kWakeup);
  ASSERT_EQ(rq.pick_next(0), &a);
  // a runs one tick (4 ms): V = v0 + 2 ms; its request (0.7 ms) is long spent.
  EXPECT_TRUE(rq.tick(4 * kMs));
  ASSERT_EQ(rq.pick_next(4 * kMs), &b);
  // b runs 10 us and sleeps: still eligible, so it leaves (no delay) with
  // lag V - v_b = (4 ms + 10 us) / 2 - 10 us = 1.995 ms.
  EXPECT_TRUE(rq.dequeue(&b, 4 * kMs + 10 * kUs, FairDequeue::kSleep));
  EXPECT_EQ(b.vlag, 1'995'000);
  EXPECT_FALSE(b.on_rq);
  ASSERT_EQ(rq.pick_next(4 * kMs + 10 * kUs), &a);
  // a runs alone for 8 ms (alone: no reschedule requests).
  EXPECT_FALSE(rq.tick(8 * kMs));
  EXPECT_FALSE(rq.tick(12 * kMs + 10 * kUs));
  // b wakes: placed at V - 1.995 ms * 2, so its lag after joining is 1.995 ms.
  rq.enqueue(&b, 12 * kMs + 10 * kUs, FairEnqueue::kWakeup);
  EXPECT_LE(std::abs(Lag(rq, b) - 1'995'000), 1);
  EXPECT_TRUE(rq.eligible(&b));
  EXPECT_FALSE(rq.eligible(&a));
  EXPECT_TRUE(rq.wakeup_preempt(&b, 12 * kMs + 10 * kUs, /*curr_need_resched=*/false));
  EXPECT_TRUE(rq.take_resched());
  EXPECT_EQ(rq.pick_next(12 * kMs + 10 * kUs), &b);
}

// The same with a negative lag (DELAY_DEQUEUE off): a task that overran and
// slept comes back behind V, is not eligible, and does not preempt.
TEST(FairLag, NegativeLagSurvivesSleepAndTheSleeperWaits) {
  FairParams p = OneCpu();
  p.features.delay_dequeue = false;
  FairRunQueue rq(p);
  FairEntity a = Entity(), b = Entity();
  rq.enqueue(&a, 0, FairEnqueue::kWakeup);
  rq.enqueue(&b, 0, FairEnqueue::kWakeup);
  ASSERT_EQ(rq.pick_next(0), &a);
  // a runs 3 ms and sleeps: lag = V - v_a = 1.5 ms - 3 ms = -1.5 ms (within
  // the clamp of max(2 x 0.7 ms, 4 ms)).
  EXPECT_TRUE(rq.dequeue(&a, 3 * kMs, FairDequeue::kSleep));
  EXPECT_EQ(a.vlag, -1'500'000);
  ASSERT_EQ(rq.pick_next(3 * kMs), &b);
  rq.update_curr(4 * kMs);  // b runs 1 ms
  rq.enqueue(&a, 4 * kMs, FairEnqueue::kWakeup);
  EXPECT_LE(std::abs(Lag(rq, a) + 1'500'000), 1);
  EXPECT_FALSE(rq.eligible(&a));
  EXPECT_FALSE(rq.wakeup_preempt(&a, 4 * kMs, false));
  EXPECT_FALSE(rq.take_resched());
}

// entity_lag(): the saved lag is clamped to the virtual value of
// max(2 x slice, TICK_NSEC).
TEST(FairLag, LagIsClampedToTwoSlicesOrATick) {
  FairParams p = OneCpu();
  p.features.delay_dequeue = false;
  FairRunQueue rq(p);
  FairEntity a = Entity(), b = Entity();
  rq.enqueue(&a, 0, FairEnqueue::kWakeup);
  rq.enqueue(&b, 0, FairEnqueue::kWakeup);
  ASSERT_EQ(rq.pick_next(0), &a);
  // 20 ms of running: lag -10 ms, clamped to -4 ms (the tick beats 1.4 ms).
  EXPECT_TRUE(rq.dequeue(&a, 20 * kMs, FairDequeue::kSleep));
  EXPECT_EQ(a.vlag, -4'000'000);
}

// DELAY_DEQUEUE (dequeue_entity()): a sleeper that is not eligible stays
// queued and competes until it would be picked; pick_next_entity() then
// finishes the dequeue and DELAY_ZERO (finish_delayed_dequeue_entity())
// drops the positive lag it has by then.
TEST(FairLag, DelayedDequeueBurnsNegativeLagWhileQueued) {
  FairRunQueue rq(OneCpu());
  FairEntity a = Entity(), b = Entity();
  rq.enqueue(&a, 0, FairEnqueue::kWakeup);
  rq.enqueue(&b, 0, FairEnqueue::kWakeup);
  ASSERT_EQ(rq.pick_next(0), &a);
  EXPECT_FALSE(rq.dequeue(&a, 3 * kMs, FairDequeue::kSleep));  // kept, delayed
  EXPECT_TRUE(a.sched_delayed);
  EXPECT_TRUE(a.on_rq);
  EXPECT_EQ(rq.nr_queued(), 2u);
  EXPECT_EQ(rq.nr_runnable(), 1u);
  ASSERT_EQ(rq.pick_next(3 * kMs), &b);
  // b runs; every tick its request is renewed and (a queued) a reschedule
  // asked; the pick keeps b until a becomes eligible (b has run 3 ms too).
  int64_t t = 3 * kMs;
  int picks_of_b = 0;
  while (a.on_rq) {
    t += 1 * kMs;
    if (rq.tick(t)) {
      FairEntity* next = rq.pick_next(t);
      ASSERT_EQ(next, &b);  // never the delayed sleeper
      ++picks_of_b;
    }
  }
  EXPECT_EQ(t, 6 * kMs);  // the pick at v_b == v_a found a eligible and dropped it
  EXPECT_GT(picks_of_b, 0);
  EXPECT_FALSE(a.sched_delayed);
  EXPECT_EQ(a.vlag, 0);  // DELAY_ZERO
  EXPECT_EQ(rq.nr_queued(), 1u);
  EXPECT_EQ(rq.stats().delayed_dequeues, 1u);
  EXPECT_EQ(rq.stats().delayed_finished, 1u);
}

// requeue_delayed_entity(): a delayed sleeper woken before it was dropped
// keeps its vruntime (and so its negative lag).
TEST(FairLag, DelayedSleeperWokenEarlyKeepsItsPlace) {
  FairRunQueue rq(OneCpu());
  FairEntity a = Entity(), b = Entity();
  rq.enqueue(&a, 0, FairEnqueue::kWakeup);
  rq.enqueue(&b, 0, FairEnqueue::kWakeup);
  ASSERT_EQ(rq.pick_next(0), &a);
  EXPECT_FALSE(rq.dequeue(&a, 3 * kMs, FairDequeue::kSleep));
  ASSERT_EQ(rq.pick_next(3 * kMs), &b);
  const uint64_t va = a.vruntime;
  rq.update_curr(4 * kMs);
  rq.enqueue(&a, 4 * kMs, FairEnqueue::kWakeup);
  EXPECT_FALSE(a.sched_delayed);
  EXPECT_EQ(a.vruntime, va);
  EXPECT_EQ(rq.nr_runnable(), 2u);
  EXPECT_FALSE(rq.eligible(&a));
  EXPECT_EQ(rq.stats().delayed_requeued, 1u);
}

// PLACE_REL_DEADLINE: a dequeue that is not a sleep (a class or priority
// change: DEQUEUE_SAVE) keeps the deadline relative to the vruntime.
TEST(FairPlace, SaveRestoreKeepsTheRelativeDeadline) {
  FairRunQueue rq(OneCpu());
  FairEntity a = Entity(), b = Entity();
  rq.enqueue(&a, 0, FairEnqueue::kWakeup);
  rq.enqueue(&b, 0, FairEnqueue::kWakeup);
  ASSERT_EQ(rq.pick_next(0), &a);
  rq.update_curr(300 * kUs);
  const uint64_t left = a.deadline - a.vruntime;  // 0.4 ms of its request left
  EXPECT_EQ(left, 400'000u);
  EXPECT_TRUE(rq.dequeue(&a, 300 * kUs, FairDequeue::kSave));
  rq.put_prev(300 * kUs);
  rq.enqueue(&a, 300 * kUs, FairEnqueue::kRestore);
  EXPECT_EQ(a.deadline - a.vruntime, left);
}

// rt_mutex_setprio() on the running fair task: dequeue (DEQUEUE_SAVE) and
// put_prev_task() while it is boosted to RT; deboosted while still running:
// enqueue (ENQUEUE_RESTORE) and set_next_task(). Its lag and the rest of its
// request survive the boost; the time it ran as RT is not charged to it.
TEST(FairPlace, PiBoostOfTheRunningTaskKeepsItsPlace) {
  FairRunQueue rq(OneCpu());
  FairEntity a = Entity(), b = Entity();
  rq.enqueue(&a, 0, FairEnqueue::kWakeup);
  rq.enqueue(&b, 0, FairEnqueue::kWakeup);
  ASSERT_EQ(rq.pick_next(0), &a);
  rq.update_curr(200 * kUs);
  const uint64_t left = a.deadline - a.vruntime;
  EXPECT_TRUE(rq.dequeue(&a, 200 * kUs, FairDequeue::kSave));  // boosted
  rq.put_prev(200 * kUs);
  EXPECT_EQ(rq.curr(), nullptr);
  EXPECT_EQ(rq.nr_queued(), 1u);
  // 5 ms as an RT task, then back to fair while running.
  rq.enqueue(&a, 5200 * kUs, FairEnqueue::kRestore);
  rq.set_next(&a, 5200 * kUs);
  EXPECT_EQ(rq.curr(), &a);
  EXPECT_EQ(a.deadline - a.vruntime, left);
  EXPECT_EQ(a.sum_exec_runtime, 200'000u);
  rq.update_curr(5300 * kUs);
  EXPECT_EQ(a.sum_exec_runtime, 300'000u);
}

// --- the running task's slice --------------------------------------------------------------

// update_curr() charges the task's own runtime against its virtual deadline;
// put_prev_entity() for an RT preemption charges and requeues it but leaves
// the deadline alone, so the request ends after the task has *run* one slice,
// however often it was interrupted (update_deadline()).
TEST(FairSlice, SliceIsChargedOnOwnRuntimeAcrossRtPreemption) {
  FairRunQueue rq(OneCpu());
  FairEntity a = Entity(), b = Entity();
  rq.enqueue(&a, 0, FairEnqueue::kWakeup);
  rq.enqueue(&b, 0, FairEnqueue::kWakeup);
  ASSERT_EQ(rq.pick_next(0), &a);
  const uint64_t deadline = a.deadline;
  // 0.3 ms, then an RT task takes the CPU for 0.2 ms.
  rq.put_prev(300 * kUs);
  EXPECT_EQ(rq.curr(), nullptr);
  EXPECT_EQ(a.deadline, deadline);
  EXPECT_EQ(a.sum_exec_runtime, 300'000u);
  // Back to the fair class: EEVDF picks b (a is past V now).
  ASSERT_EQ(rq.pick_next(500 * kUs), &b);
  rq.update_curr(900 * kUs);         // b runs 0.4 ms
  ASSERT_TRUE(rq.tick(1200 * kUs));  // b's 0.7 ms are used up: renewed, resched
  ASSERT_EQ(rq.pick_next(1200 * kUs), &a);
  EXPECT_EQ(a.deadline, deadline);  // still the first request
  // a runs 0.39 ms more (0.69 ms in all): not yet.
  EXPECT_FALSE(rq.tick(1590 * kUs));
  EXPECT_EQ(a.deadline, deadline);
  // 0.01 ms more: 0.7 ms of its own runtime, the request is renewed.
  const uint64_t expiries = rq.stats().slice_expiries;
  EXPECT_TRUE(rq.tick(1600 * kUs));
  EXPECT_EQ(rq.stats().slice_expiries, expiries + 1);
  EXPECT_EQ(a.deadline, a.vruntime + 700'000);
}

// set_protect_slice() (6.17+): with a shorter request queued (a custom
// slice), the running task is protected only that long; update_curr() asks
// for a reschedule when the protection ends even though its own request
// goes on.
TEST(FairSlice, ProtectionIsTheShortestQueuedRequest) {
  FairRunQueue rq(OneCpu());
  FairEntity a = Entity(), b = Entity();
  b.custom_slice_ns = 200'000;
  rq.enqueue(&a, 0, FairEnqueue::kWakeup);
  rq.enqueue(&b, 0, FairEnqueue::kWakeup);
  // b's deadline (v0 + 0.2 ms) is earlier: it runs first.
  ASSERT_EQ(rq.pick_next(0), &b);
  ASSERT_TRUE(rq.tick(200 * kUs));
  ASSERT_EQ(rq.pick_next(200 * kUs), &a);
  EXPECT_EQ(a.vprot, a.vruntime + 200'000);
  EXPECT_FALSE(rq.tick(399 * kUs));
  EXPECT_TRUE(rq.tick(400 * kUs));  // protection over, deadline not reached
  EXPECT_LT(a.vruntime, a.deadline);
  EXPECT_EQ(rq.stats().protect_ends, 1u);
}

// A task alone on its queue is never asked to reschedule (update_curr():
// "if (cfs_rq->nr_queued == 1) return"), though its requests roll over.
TEST(FairSlice, AloneNoReschedule) {
  FairRunQueue rq(OneCpu());
  FairEntity a = Entity();
  rq.enqueue(&a, 0, FairEnqueue::kWakeup);
  ASSERT_EQ(rq.pick_next(0), &a);
  for (int i = 1; i <= 10; ++i) EXPECT_FALSE(rq.tick(i * 4 * kMs));
  EXPECT_EQ(a.deadline, a.vruntime + 700'000);
  EXPECT_EQ(rq.stats().slice_expiries, 0u);
}

// --- wakeup preemption ---------------------------------------------------------------------

// Builds: b at V (lag 0), a with lag +1 ms picked (earliest eligible
// deadline), run for 0.1 ms. Returns the queue at that point.
struct ProtectedCurr {
  FairRunQueue rq{OneCpu()};
  FairEntity a = Entity(), b = Entity(), c = Entity();
  ProtectedCurr() {
    rq.enqueue(&b, 0, FairEnqueue::kWakeup);
    a.vlag = 1'000'000;  // went to sleep owed 1 ms
    rq.enqueue(&a, 0, FairEnqueue::kWakeup);
    if (rq.pick_next(0) != &a) std::abort();
    rq.update_curr(100 * kUs);
  }
};

// check_preempt_wakeup_fair(): a wakee whose virtual deadline is later than
// the running task's does not preempt it.
TEST(FairWakeup, LaterDeadlineDoesNotPreempt) {
  ProtectedCurr s;
  s.rq.enqueue(&s.c, 100 * kUs, FairEnqueue::kWakeup);  // lag 0: deadline V + 0.7 ms
  EXPECT_GT(static_cast<int64_t>(s.c.deadline - s.a.deadline), 0);
  EXPECT_FALSE(s.rq.wakeup_preempt(&s.c, 100 * kUs, false));
  EXPECT_FALSE(s.rq.take_resched());
}

// RUN_TO_PARITY (__pick_eevdf(cfs_rq, protect)): an eligible wakee with an
// earlier deadline does not preempt a running task that is eligible and
// within its protected slice...
TEST(FairWakeup, RunToParityProtectsTheRunningTask) {
  ProtectedCurr s;
  s.c.vlag = 1'500'000;  // placed 2.25 ms left of V: deadline before a's
  s.rq.enqueue(&s.c, 100 * kUs, FairEnqueue::kWakeup);
  EXPECT_LT(static_cast<int64_t>(s.c.deadline - s.a.deadline), 0);
  EXPECT_TRUE(s.rq.eligible(&s.c));
  EXPECT_TRUE(s.rq.eligible(&s.a));
  EXPECT_TRUE(FairRunQueue::protect_slice(&s.a));
  EXPECT_FALSE(s.rq.wakeup_preempt(&s.c, 100 * kUs, false));
  // ... which ends with its request: the next pick is c.
  EXPECT_TRUE(s.rq.tick(700 * kUs));
  EXPECT_EQ(s.rq.pick_next(700 * kUs), &s.c);
}

// ... unless the wakee asks for a shorter slice (PREEMPT_SHORT): judged
// without the protection, it wins and the protection is cancelled.
TEST(FairWakeup, ShorterSliceWakeeBreaksTheProtection) {
  ProtectedCurr s;
  s.c.vlag = 1'500'000;
  s.c.custom_slice_ns = 100'000;
  s.rq.enqueue(&s.c, 100 * kUs, FairEnqueue::kWakeup);
  EXPECT_TRUE(s.rq.wakeup_preempt(&s.c, 100 * kUs, false));
  EXPECT_FALSE(FairRunQueue::protect_slice(&s.a));
  EXPECT_EQ(s.rq.pick_next(100 * kUs), &s.c);
}

// With TIF_NEED_RESCHED already set on the running task nothing is evaluated.
TEST(FairWakeup, NothingWhenAReschedIsPending) {
  ProtectedCurr s;
  s.c.vlag = 1'500'000;
  s.c.custom_slice_ns = 100'000;
  s.rq.enqueue(&s.c, 100 * kUs, FairEnqueue::kWakeup);
  EXPECT_FALSE(s.rq.wakeup_preempt(&s.c, 100 * kUs, /*curr_need_resched=*/true));
  EXPECT_TRUE(FairRunQueue::protect_slice(&s.a));
}

// --- sharing ------------------------------------------------------------------------------

struct ShareRun {
  std::array<uint64_t, 4> runtime{};
  uint64_t slice_expiries = 0;
  uint64_t switches = 0;
};

// One CPU stepped in 10 us: fair tasks with the given nice values, always
// runnable; an RT task that takes the CPU for `rt_run_ns` every
// `rt_period_ns` (put_prev_task_fair() when it starts, pick_next_task_fair()
// when it ends); the tick every TICK_NSEC (task_tick_fair(), a reschedule
// acted on at once, as FULL would at the irq exit).
ShareRun Share(const FairParams& p, const std::array<int, 4>& nices, int n, int64_t rt_period_ns,
               int64_t rt_run_ns, int64_t duration_ns) {
  FairRunQueue rq(p);
  std::array<FairEntity, 4> se{};
  for (int i = 0; i < n; ++i) {
    se[static_cast<size_t>(i)].set_nice(nices[static_cast<size_t>(i)]);
    rq.enqueue(&se[static_cast<size_t>(i)], 0, FairEnqueue::kInitial);
  }
  ShareRun r;
  FairEntity* running = rq.pick_next(0);
  bool rt = false;
  const auto tick = static_cast<int64_t>(p.tick_ns);
  for (int64_t t = 10 * kUs; t <= duration_ns; t += 10 * kUs) {
    const bool rt_now = rt_period_ns > 0 && (t % rt_period_ns) < rt_run_ns;
    if (rt_now && !rt) {
      rq.put_prev(t);
      running = nullptr;
    } else if (!rt_now && rt) {
      running = rq.pick_next(t);
      ++r.switches;
    }
    rt = rt_now;
    if (!rt && t % tick == 0 && rq.tick(t)) {
      FairEntity* next = rq.pick_next(t);
      if (next != running) ++r.switches;
      running = next;
    }
  }
  rq.put_prev(duration_ns);
  for (int i = 0; i < n; ++i) {
    r.runtime[static_cast<size_t>(i)] = se[static_cast<size_t>(i)].sum_exec_runtime;
  }
  r.slice_expiries = rq.stats().slice_expiries;
  return r;
}

// Two equal, always-busy fair tasks under a 1 kHz RT task that takes 0.2 ms
// of every 1 ms: neither ever runs a whole tick, yet (update_curr() charging
// their own runtime, pick_eevdf() after every RT preemption) they share the
// CPU evenly, and their requests expire on their own runtime.
TEST(FairShare, EqualTasksShareUnderPeriodicRtPreemption) {
  const ShareRun r = Share(OneCpu(), {0, 0}, 2, 1 * kMs, 200 * kUs, 1'000 * kMs);
  const double a = static_cast<double>(r.runtime[0]);
  const double b = static_cast<double>(r.runtime[1]);
  EXPECT_NEAR(a + b, 800.0 * kMs, 1.0 * kMs);  // the RT task's 20 % is gone
  EXPECT_LT(std::abs(a - b) / (a + b), 0.10) << a << " vs " << b;
  EXPECT_GT(r.slice_expiries, 500u);  // ~one 0.7 ms request per 0.8 ms run
  EXPECT_GT(r.switches, 900u);
}

// The same on two vCPUs' worth of base slice (1.4 ms) and with a 0.5 ms RT
// burst every 3 ms.
TEST(FairShare, EqualTasksShareWithALongerBaseSlice) {
  const ShareRun r = Share(fair_params_for(2, 250), {0, 0}, 2, 3 * kMs, 500 * kUs, 1'000 * kMs);
  const double a = static_cast<double>(r.runtime[0]);
  const double b = static_cast<double>(r.runtime[1]);
  EXPECT_LT(std::abs(a - b) / (a + b), 0.10) << a << " vs " << b;
  EXPECT_GT(r.slice_expiries, 300u);
}

// Nice weights split the CPU as sched_prio_to_weight[] says: nice 0 against
// nice 5 is 1024 : 335, i.e. 75.3 % : 24.7 %; with nice -5 added,
// 3121 : 1024 : 335 = 69.7 % : 22.9 % : 7.5 %.
TEST(FairShare, NiceWeightsSplitTheCpu) {
  {
    const ShareRun r = Share(OneCpu(), {0, 5}, 2, 0, 0, 10'000 * kMs);
    const double total = static_cast<double>(r.runtime[0] + r.runtime[1]);
    EXPECT_NEAR(static_cast<double>(r.runtime[0]) / total, 1024.0 / 1359.0, 0.02);
  }
  {
    const ShareRun r = Share(OneCpu(), {-5, 0, 5}, 3, 0, 0, 10'000 * kMs);
    const double total = static_cast<double>(r.runtime[0] + r.runtime[1] + r.runtime[2]);
    EXPECT_NEAR(static_cast<double>(r.runtime[0]) / total, 3121.0 / 4480.0, 0.02);
    EXPECT_NEAR(static_cast<double>(r.runtime[1]) / total, 1024.0 / 4480.0, 0.02);
    EXPECT_NEAR(static_cast<double>(r.runtime[2]) / total, 335.0 / 4480.0, 0.02);
  }
  {  // and under RT preemption
    const ShareRun r = Share(OneCpu(), {0, 5}, 2, 1 * kMs, 200 * kUs, 10'000 * kMs);
    const double total = static_cast<double>(r.runtime[0] + r.runtime[1]);
    EXPECT_NEAR(static_cast<double>(r.runtime[0]) / total, 1024.0 / 1359.0, 0.02);
  }
}

// Equal tasks without interference: each run lasts one tick (the tick is the
// only preemption point, 4 ms > the 0.7 ms slice) and they alternate.
TEST(FairShare, EqualTasksAlternateAtTheTick) {
  const ShareRun r = Share(OneCpu(), {0, 0, 0}, 3, 0, 0, 1'200 * kMs);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(static_cast<double>(r.runtime[static_cast<size_t>(i)]), 400.0 * kMs, 4.0 * kMs)
        << i;
  }
  EXPECT_EQ(r.switches, 300u);  // every tick (300 in 1.2 s) is a switch
}

// --- pick details --------------------------------------------------------------------------

// pick_eevdf(): among eligible entities the earliest deadline; an entity
// with an earlier deadline that is not eligible (it has run ahead of V)
// waits.
TEST(FairPick, EarliestEligibleDeadlineNotEarliestDeadline) {
  FairRunQueue rq(OneCpu());
  FairEntity a = Entity(), b = Entity(), c = Entity();
  b.custom_slice_ns = 100'000;  // short request: early deadlines
  rq.enqueue(&a, 0, FairEnqueue::kWakeup);
  rq.enqueue(&b, 0, FairEnqueue::kWakeup);
  rq.enqueue(&c, 0, FairEnqueue::kWakeup);
  EXPECT_EQ(rq.first(), &b);
  ASSERT_EQ(rq.pick_next(0), &b);
  // b runs its 0.1 ms and an RT task takes the CPU: b's renewed deadline
  // (v0 + 0.2 ms) is the earliest in the queue, but V = v0 + 0.033 ms.
  rq.put_prev(100 * kUs);
  EXPECT_EQ(rq.first(), &b);
  EXPECT_FALSE(rq.eligible(&b));
  EXPECT_EQ(rq.pick_next(150 * kUs), &a);  // a and c tie; a was queued first
}

// avg_vruntime() rounds towards -inf so that "avg_vruntime() + 0 is
// eligible" always holds (its comment in kernel/sched/fair.c), and one more is
// not: checked after every operation of a long mixed sequence (nice values
// whose weights do not divide the sums, sleeps, wakeups, RT preemptions).
TEST(FairPlace, AverageIsEligibleAndTheNextIsNot) {
  FairRunQueue rq(OneCpu());
  std::array<FairEntity, 4> se{};
  const int nices[] = {0, 3, -2, 7};
  for (size_t i = 0; i < se.size(); ++i) {
    se[i].set_nice(nices[i]);
    rq.enqueue(&se[i], 0, FairEnqueue::kInitial);
  }
  uint64_t x = 88172645463325252ull;  // xorshift64
  int64_t t = 0;
  FairEntity* running = rq.pick_next(0);
  int checked = 0;
  for (int step = 0; step < 20000; ++step) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    t += 1 + static_cast<int64_t>(x % 997) * kUs / 7;
    const auto i = static_cast<size_t>((x >> 20) % se.size());
    switch ((x >> 40) % 4) {
      case 0:  // the running task sleeps
        if (running != nullptr) {
          rq.dequeue(running, t, FairDequeue::kSleep);
          running = rq.pick_next(t);
        }
        break;
      case 1:  // a sleeper wakes
        if (!se[i].on_rq || se[i].sched_delayed) {
          rq.enqueue(&se[i], t, FairEnqueue::kWakeup);
          if (running == nullptr) {
            running = rq.pick_next(t);
          } else if (rq.wakeup_preempt(&se[i], t, false)) {
            running = rq.pick_next(t);
          }
        }
        break;
      case 2:  // RT preemption and back
        rq.put_prev(t);
        running = rq.pick_next(t + 50 * kUs);
        t += 50 * kUs;
        break;
      default:  // the tick
        if (rq.tick(t)) running = rq.pick_next(t);
        break;
    }
    if (rq.nr_queued() == 0) continue;
    const uint64_t v = rq.avg_vruntime();
    ASSERT_TRUE(rq.vruntime_eligible(v)) << step;
    ASSERT_FALSE(rq.vruntime_eligible(v + 1)) << step;
    ++checked;
  }
  EXPECT_GT(checked, 10000);
}

// Wrap-safety: the queue starts just below the u64 wrap (init_cfs_rq()), so
// every test above already crossed it; here it is checked directly.
TEST(FairPick, VruntimeWrapsSafely) {
  FairRunQueue rq(OneCpu());
  FairEntity a = Entity(), b = Entity();
  rq.enqueue(&a, 0, FairEnqueue::kWakeup);
  rq.enqueue(&b, 0, FairEnqueue::kWakeup);
  const uint64_t start = a.vruntime;
  EXPECT_GT(start, UINT64_MAX / 2);  // "negative"
  ASSERT_EQ(rq.pick_next(0), &a);
  EXPECT_TRUE(rq.tick(4 * kMs));
  EXPECT_LT(a.vruntime, UINT64_MAX / 2);  // wrapped
  EXPECT_TRUE(rq.eligible(&b));
  EXPECT_FALSE(rq.eligible(&a));
  EXPECT_EQ(rq.pick_next(4 * kMs), &b);
}

}  // namespace
