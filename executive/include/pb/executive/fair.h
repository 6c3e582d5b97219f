// The fair class as the kernel runs it: EEVDF (kernel/sched/fair.c, 6.12 to
// 6.18). One FairRunQueue per vCPU is the kernel's cfs_rq without task groups;
// one FairEntity per fair task is its sched_entity. Both mechanisms (the
// executive's per-vCPU runqueue and the simulator's engine) hold one per vCPU
// and call it at the points where the kernel calls the fair class:
//
//   kernel                                   here
//   enqueue_task_fair / requeue_delayed      enqueue(se, now, kind)
//   dequeue_task_fair                        dequeue(se, now, kind)
//   task_tick_fair -> update_curr            tick(now)
//   wakeup_preempt -> check_preempt_wakeup_fair  wakeup_preempt(se, now, ...)
//   pick_next_task_fair (pick, put, set)     pick_next(now)
//   put_prev_task_fair (another class runs)  put_prev(now)
//
// `now` is the vCPU's task clock (rq_clock_task()): nanoseconds that only
// advance while a task executes (interrupt time and host steal left out, as
// IRQ_TIME_ACCOUNTING and PARAVIRT_TIME_ACCOUNTING do); monotonic per queue.
// Every call that the kernel follows with a resched_curr_lazy() of the
// running fair task leaves `take_resched()` true; the mechanism turns it into
// the flag policy.h's resched_curr_lazy_flag() names.
//
// Pure policy in the sense of policy.h: no threads, no clocks, no allocation,
// no exceptions; integer arithmetic as the kernel's (u64 vruntime with
// wrap-safe comparisons, s64 lag, the load-weighted key sum for the average).
// Entities are intrusive (the queue links them through their own fields), so
// the capacity is the number of entities the mechanism owns.
//
// What is the kernel's and what is not (see DESIGN.md "The fair class"):
// modelled: update_curr, update_deadline, avg_vruntime, entity_eligible,
// pick_eevdf (as __pick_eevdf(cfs_rq, protect) of 6.17+), place_entity with
// PLACE_LAG, PLACE_DEADLINE_INITIAL and PLACE_REL_DEADLINE, entity_lag's clamp,
// RUN_TO_PARITY slice protection (vprot, 6.17+), PREEMPT_SHORT, DELAY_DEQUEUE
// with DELAY_ZERO, custom slices, the nice weights and calc_delta_fair().
// Not modelled: task groups and bandwidth (one flat cfs_rq per CPU), buddies
// (NEXT_BUDDY is off by default, yield_to() is not offered), SCHED_BATCH and
// SCHED_IDLE, reweighting a queued entity (nice is fixed per task), HRTICK
// (off by default), PELT and load balancing, the fair deadline server.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace pb::exec {

// --- weights --------------------------------------------------------------------------------

inline constexpr int kNiceMin = -20;
inline constexpr int kNiceMax = 19;

// sched_prio_to_weight[] (kernel/sched/core.c): the weight of nice -20..19,
// each step about 1.25x ("10% more CPU per nice level"); nice 0 is 1024.
inline constexpr std::array<uint32_t, 40> kSchedPrioToWeight = {
    88761, 71755, 56483, 46273, 36291,  // -20
    29154, 23254, 18705, 14949, 11916,  // -15
    9548,  7620,  6100,  4904,  3906,   // -10
    3121,  2501,  1991,  1586,  1277,   //  -5
    1024,  820,   655,   526,   423,    //   0
    335,   272,   215,   172,   137,    //   5
    110,   87,    70,    56,    45,     //  10
    36,    29,    23,    18,    15,     //  15
};

// sched_prio_to_wmult[] (kernel/sched/core.c): 2^32 / weight, precomputed and
// used as the entity's inv_weight by set_load_weight().
inline constexpr std::array<uint32_t, 40> kSchedPrioToWmult = {
    48388,     59856,     76040,     92818,     118348,     // -20
    147320,    184698,    229616,    287308,    360437,     // -15
    449829,    563644,    704093,    875809,    1099582,    // -10
    1376151,   1717300,   2157191,   2708050,   3363326,    //  -5
    4194304,   5237765,   6557202,   8165337,   10153587,   //   0
    12820798,  15790321,  19976592,  24970740,  31350126,   //   5
    39045157,  49367440,  61356676,  76695844,  95443717,   //  10
    119304647, 148102320, 186737708, 238609294, 286331153,  //  15
};

// scale_load_down(NICE_0_LOAD): the weight of nice 0 at the resolution the
// fair class computes with on 64-bit kernels.
inline constexpr uint32_t kNice0Weight = 1024;

constexpr bool nice_valid(int nice) noexcept { return nice >= kNiceMin && nice <= kNiceMax; }

// REQUIRES: nice_valid(nice).
constexpr uint32_t nice_weight(int nice) noexcept {
  return kSchedPrioToWeight[static_cast<std::size_t>(nice - kNiceMin)];
}
constexpr uint32_t nice_wmult(int nice) noexcept {
  return kSchedPrioToWmult[static_cast<std::size_t>(nice - kNiceMin)];
}

namespace fair_detail {
// fls(): 1-based index of the highest set bit, 0 for 0.
constexpr int fls32(uint32_t x) noexcept { return x == 0 ? 0 : 32 - __builtin_clz(x); }
// mul_u64_u32_shr(): (a * mul) >> shift with a 96-bit intermediate.
constexpr uint64_t mul_u64_u32_shr(uint64_t a, uint32_t mul, int shift) noexcept {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * mul) >> shift);
}
// Wrap-safe vruntime order: (s64)(a - b) < 0, as entity_before() and
// min_vruntime() compare.
constexpr bool vruntime_before(uint64_t a, uint64_t b) noexcept {
  return static_cast<int64_t>(a - b) < 0;
}
}  // namespace fair_detail

// __calc_delta(delta, weight, lw) (kernel/sched/fair.c): delta * weight /
// lw_weight computed as (delta * (weight * lw_inv)) >> 32 with the factor
// renormalised to 32 bits, exactly as the kernel rounds. `weight` and
// `lw_weight` are scale_load_down() values; lw_inv is lw->inv_weight (0 means
// "compute it": WMULT_CONST / lw_weight, __update_inv_weight()).
constexpr uint64_t calc_delta(uint64_t delta, uint32_t weight, uint32_t lw_weight,
                              uint32_t lw_inv) noexcept {
  constexpr uint32_t kWmultConst = ~0u;
  if (lw_inv == 0) lw_inv = lw_weight == 0 ? kWmultConst : kWmultConst / lw_weight;
  uint64_t fact = weight;
  int shift = 32;
  fact = fact * lw_inv;
  const auto fact_hi = static_cast<uint32_t>(fact >> 32);
  if (fact_hi != 0) {
    const int fs = fair_detail::fls32(fact_hi);
    shift -= fs;
    fact >>= fs;
  }
  return fair_detail::mul_u64_u32_shr(delta, static_cast<uint32_t>(fact), shift);
}

// calc_delta_fair() (kernel/sched/fair.c): real time to the entity's virtual
// time, delta * 1024 / weight; exact for nice 0.
constexpr uint64_t calc_delta_fair(uint64_t delta, uint32_t weight, uint32_t inv_weight) noexcept {
  if (weight == kNice0Weight) return delta;
  return calc_delta(delta, kNice0Weight, weight, inv_weight);
}

// --- the base slice -------------------------------------------------------------------------

// sysctl_sched_tunable_scaling (SCHED_TUNABLESCALING_*): how the base slice
// grows with the CPU count. The kernel's default is kLog.
enum class TunableScaling : uint8_t { kNone, kLog, kLinear };

// normalized_sysctl_sched_base_slice: 0.70 ms for one CPU.
inline constexpr uint64_t kNormalizedBaseSliceNs = 700'000;

// get_update_sysctl_factor() (kernel/sched/fair.c): with cpus =
// min(num_online_cpus(), 8), 1 (none), cpus (linear) or 1 + ilog2(cpus) (log).
constexpr unsigned sysctl_scaling_factor(unsigned online_cpus,
                                         TunableScaling s = TunableScaling::kLog) noexcept {
  unsigned cpus = online_cpus < 1 ? 1 : (online_cpus > 8 ? 8 : online_cpus);
  switch (s) {
    case TunableScaling::kNone:
      return 1;
    case TunableScaling::kLinear:
      return cpus;
    case TunableScaling::kLog:
      break;
  }
  unsigned log2 = 0;
  while (cpus > 1) {
    cpus >>= 1;
    ++log2;
  }
  return 1 + log2;
}

// update_sysctl() at boot and hotplug: sysctl_sched_base_slice = factor *
// normalized. 0.70 ms on 1 CPU, 1.40 ms on 2, 2.10 ms on 4-7, 2.80 ms on 8+.
// (Writing /sys/kernel/debug/sched/base_slice_ns sets the sysctl directly;
// sched_update_scaling() derives the normalized value back from it when the
// scaling mode is written.)
constexpr uint64_t default_base_slice_ns(unsigned online_cpus,
                                         TunableScaling s = TunableScaling::kLog) noexcept {
  return sysctl_scaling_factor(online_cpus, s) * kNormalizedBaseSliceNs;
}

// sched_feat() switches of kernel/sched/features.h that this module honours,
// with the kernel's defaults.
struct FairFeatures {
  bool place_lag = true;               // PLACE_LAG
  bool place_deadline_initial = true;  // PLACE_DEADLINE_INITIAL
  bool place_rel_deadline = true;      // PLACE_REL_DEADLINE
  bool run_to_parity = true;           // RUN_TO_PARITY
  bool preempt_short = true;           // PREEMPT_SHORT
  bool wakeup_preemption = true;       // WAKEUP_PREEMPTION
  bool delay_dequeue = true;           // DELAY_DEQUEUE
  bool delay_zero = true;              // DELAY_ZERO
};

struct FairParams {
  uint64_t base_slice_ns = default_base_slice_ns(1);           // sysctl_sched_base_slice
  uint64_t normalized_base_slice_ns = kNormalizedBaseSliceNs;  // its normalized value
  uint64_t tick_ns = 4'000'000;                                // TICK_NSEC (HZ 250)
  FairFeatures features{};
};

// The parameters for a run on `online_cpus` CPUs at `hz`, with the kernel's
// default base slice unless `base_slice_override_ns` (> 0) replaces it, as a
// write to base_slice_ns does.
constexpr FairParams fair_params_for(unsigned online_cpus, int hz,
                                     uint64_t base_slice_override_ns = 0) noexcept {
  FairParams p;
  p.base_slice_ns =
      base_slice_override_ns > 0 ? base_slice_override_ns : default_base_slice_ns(online_cpus);
  p.tick_ns = hz > 0
                  ? (1'000'000'000ull + static_cast<uint64_t>(hz) / 2) / static_cast<uint64_t>(hz)
                  : 4'000'000;
  return p;
}

// --- entities -------------------------------------------------------------------------------

// struct sched_entity, the fair class's part of a task. Configure with
// set_nice()/set_custom_slice() while it is not queued; the rest is the
// queue's.
struct FairEntity {
  // Owner's handle, for the mechanism (the queue never reads it).
  void* owner = nullptr;

  // load.weight (scaled down) and load.inv_weight.
  uint32_t weight = kNice0Weight;
  uint32_t inv_weight = nice_wmult(0);
  int nice = 0;
  // sched_attr::sched_runtime as a custom slice (custom_slice), 0 = the base
  // slice.
  uint64_t custom_slice_ns = 0;

  uint64_t vruntime = 0;
  uint64_t deadline = 0;
  uint64_t vprot = 0;  // the vruntime up to which it is protected (RUN_TO_PARITY)
  int64_t vlag = 0;    // V - vruntime at dequeue, clamped (entity_lag())
  uint64_t slice = 0;  // the request r_i in ns
  int64_t exec_start = 0;
  uint64_t sum_exec_runtime = 0;
  uint64_t prev_sum_exec_runtime = 0;  // at the last set_next_entity()

  bool on_rq = false;          // queued: in the tree, or the queue's curr and runnable
  bool sched_delayed = false;  // asleep but still queued (DELAY_DEQUEUE)
  bool rel_deadline = false;   // deadline kept relative to vruntime (PLACE_REL_DEADLINE)
  bool in_tree = false;        // on the deadline-ordered list (not curr)
  FairEntity* tree_prev = nullptr;
  FairEntity* tree_next = nullptr;

  // REQUIRES: nice_valid(n) and the entity is not queued.
  constexpr void set_nice(int n) noexcept {
    nice = n;
    weight = nice_weight(n);
    inv_weight = nice_wmult(n);
  }
};

enum class FairEnqueue : uint8_t {
  kWakeup,   // ENQUEUE_WAKEUP: a sleeper comes back (its lag is placed)
  kInitial,  // a new task's first enqueue (ENQUEUE_INITIAL: half a slice)
  kRestore,  // back after a kSave dequeue (ENQUEUE_RESTORE, class or priority change)
};

enum class FairDequeue : uint8_t {
  kSleep,    // DEQUEUE_SLEEP: the task blocks (may be delayed, DELAY_DEQUEUE)
  kSpecial,  // DEQUEUE_SLEEP|DEQUEUE_SPECIAL: exit or a special state, never delayed
  kSave,     // DEQUEUE_SAVE: class or priority change; a delayed entity finishes its dequeue
};

// Counters a queue keeps (plain, single writer: whoever holds the rq).
struct FairStats {
  uint64_t slice_expiries = 0;      // update_deadline() renewed a request with a peer queued
  uint64_t protect_ends = 0;        // a resched because protection ended before the deadline
  uint64_t wakeup_preemptions = 0;  // check_preempt_wakeup_fair() asked for a resched
  uint64_t wakeup_no_preempt = 0;   // ... and did not
  uint64_t delayed_dequeues = 0;    // DELAY_DEQUEUE kept a sleeper queued
  uint64_t delayed_finished = 0;    // ... and a later pick or dequeue removed it
  uint64_t delayed_requeued = 0;    // ... or it woke while still queued
};

// --- the queue ------------------------------------------------------------------------------

class FairRunQueue {
 public:
  constexpr FairRunQueue() noexcept = default;
  constexpr explicit FairRunQueue(const FairParams& p) noexcept : params_(p) {}

  constexpr const FairParams& params() const noexcept { return params_; }
  // REQUIRES: empty queue (the base slice applies from each entity's next request).
  constexpr void set_params(const FairParams& p) noexcept { params_ = p; }

  // cfs_rq->curr: the fair entity that is the CPU's running task, or null
  // (another class runs, or nothing). It is not in the tree.
  constexpr FairEntity* curr() const noexcept { return curr_; }
  // cfs_rq->nr_queued: queued entities, curr (if runnable) and delayed ones included.
  constexpr uint32_t nr_queued() const noexcept { return nr_queued_; }
  // Queued entities that are not asleep (h_nr_runnable).
  constexpr uint32_t nr_runnable() const noexcept { return nr_queued_ - nr_delayed_; }
  constexpr const FairStats& stats() const noexcept { return stats_; }

  // True once since the last call if some operation requested a reschedule
  // of the running fair task (resched_curr_lazy() in update_curr() or
  // check_preempt_wakeup_fair()).
  constexpr bool take_resched() noexcept {
    const bool r = resched_;
    resched_ = false;
    return r;
  }

  // The deadline-ordered list (the rb-tree's in-order walk): first() is the
  // leftmost entity, next via FairEntity::tree_next. For tests and dumps.
  constexpr FairEntity* first() const noexcept { return head_; }

  // avg_vruntime(): V, the load-weighted average vruntime of the queued
  // entities (curr included while runnable), rounded towards -inf. Moves the
  // key reference to V as the kernel's zero_vruntime does (the value of V
  // does not depend on the reference).
  constexpr uint64_t avg_vruntime() noexcept {
    int64_t load = sum_weight_;
    int64_t delta = 0;
    const FairEntity* c = (curr_ != nullptr && curr_->on_rq) ? curr_ : nullptr;
    if (load != 0) {
      int64_t runtime = sum_w_key_;
      if (c != nullptr) {
        runtime += key(c) * static_cast<int64_t>(c->weight);
        load += c->weight;
      }
      if (runtime < 0) runtime -= load - 1;  // floor, not truncation
      delta = runtime / load;
    } else if (c != nullptr) {
      delta = key(c);
    }
    sum_w_key_ -= sum_weight_ * delta;
    zero_vruntime_ += static_cast<uint64_t>(delta);
    return zero_vruntime_;
  }

  // vruntime_eligible(): V >= v, computed without the division
  // (avg >= (v - v0) * load), so exact.
  constexpr bool vruntime_eligible(uint64_t v) const noexcept {
    int64_t avg = sum_w_key_;
    int64_t load = sum_weight_;
    if (curr_ != nullptr && curr_->on_rq) {
      avg += key(curr_) * static_cast<int64_t>(curr_->weight);
      load += curr_->weight;
    }
    return avg >= static_cast<int64_t>(v - zero_vruntime_) * load;
  }
  // entity_eligible(): the entity is owed service (lag >= 0).
  constexpr bool eligible(const FairEntity* se) const noexcept {
    return vruntime_eligible(se->vruntime);
  }

  // lag_i = V - v_i clamped to the calc_delta_fair() of max(2 slices, a tick)
  // (entity_lag()), in virtual ns. Updates the reference like avg_vruntime().
  constexpr int64_t lag_of(const FairEntity* se) noexcept { return entity_lag(avg_vruntime(), se); }

  // protect_slice() (6.17+): curr's vruntime has not reached vprot.
  static constexpr bool protect_slice(const FairEntity* se) noexcept {
    return static_cast<int64_t>(se->vprot - se->vruntime) > 0;
  }

  // cfs_rq_min_slice(): the smallest request among curr (if runnable) and
  // the tree; ~0 when both are empty.
  constexpr uint64_t min_slice() const noexcept {
    uint64_t m = ~uint64_t{0};
    if (curr_ != nullptr && curr_->on_rq) m = curr_->slice;
    if (n_custom_in_tree_ == 0) {
      // Every entity in the tree requests the base slice (params are fixed
      // while anything is queued): no walk needed.
      if (head_ != nullptr && params_.base_slice_ns < m) m = params_.base_slice_ns;
      return m;
    }
    for (const FairEntity* e = head_; e != nullptr; e = e->tree_next) {
      if (e->slice < m) m = e->slice;
    }
    return m;
  }

  // update_curr(): charge curr with the task clock since its exec_start,
  // advance its vruntime (calc_delta_fair), renew its request when the
  // deadline is reached (update_deadline), and with a peer queued request a
  // reschedule when the request was renewed or its protection has ended.
  constexpr void update_curr(int64_t now) noexcept {
    FairEntity* c = curr_;
    if (c == nullptr) return;
    const int64_t delta = now - c->exec_start;
    if (delta <= 0) return;
    c->exec_start = now;
    c->sum_exec_runtime += static_cast<uint64_t>(delta);
    c->vruntime += calc_delta_fair(static_cast<uint64_t>(delta), c->weight, c->inv_weight);
    const bool renewed = update_deadline(c);
    if (nr_queued_ == 1) return;
    if (renewed || !protect_slice(c)) {
      if (renewed) {
        ++stats_.slice_expiries;
      } else {
        ++stats_.protect_ends;
      }
      resched_ = true;
    }
  }

  // task_tick_fair() -> entity_tick() -> update_curr(). Returns (and
  // consumes, as take_resched()) whether the running fair task should be
  // rescheduled.
  constexpr bool tick(int64_t now) noexcept {
    update_curr(now);
    return take_resched();
  }

  // enqueue_task_fair(). kWakeup of an entity still queued as delayed is
  // ttwu_runnable()'s ENQUEUE_DELAYED: requeue_delayed_entity() (no
  // update_curr: its lag is taken against V as it stands, and a positive one
  // is dropped under DELAY_ZERO). Otherwise enqueue_entity(): update_curr,
  // place_entity, into the tree.
  // REQUIRES: !se->on_rq unless se->sched_delayed.
  constexpr void enqueue(FairEntity* se, int64_t now, FairEnqueue kind) noexcept {
    if (se->on_rq && se->sched_delayed) {
      requeue_delayed_entity(se);
      return;
    }
    const bool is_curr = curr_ == se;
    if (is_curr) place_entity(se, kind);
    update_curr(now);
    if (!is_curr) place_entity(se, kind);
    if (!is_curr) tree_insert(se);
    se->on_rq = true;
    ++nr_queued_;
  }

  // dequeue_task_fair() for one entity. Returns false when the entity stays
  // queued as delayed (a sleeper that is not eligible keeps competing until
  // it is picked or wakes: DELAY_DEQUEUE); the mechanism treats the task as
  // blocked either way.
  // REQUIRES: se->on_rq (a delayed entity only with kSave or kSpecial).
  constexpr bool dequeue(FairEntity* se, int64_t now, FairDequeue kind) noexcept {
    if (se->sched_delayed) {
      // A class change or exit finishes a delayed dequeue (rt_mutex_setprio(),
      // __sched_setscheduler(): DEQUEUE_SLEEP | DEQUEUE_DELAYED).
      dequeue_entity(se, now, /*sleep=*/true, /*delayed=*/true);
      return true;
    }
    return dequeue_entity(se, now, kind != FairDequeue::kSave,
                          /*delayed=*/false, /*may_delay=*/kind == FairDequeue::kSleep);
  }

  // __pick_eevdf(cfs_rq, protect): the eligible entity with the earliest
  // virtual deadline (ties: the one queued first), curr included; with
  // `protect`, a curr within its protected slice stays. Does not change the
  // queue (no update_curr).
  constexpr FairEntity* pick_eevdf(bool protect = true) const noexcept {
    FairEntity* c = curr_;
    if (nr_queued_ == 1) return (c != nullptr && c->on_rq) ? c : head_;
    if (c != nullptr && (!c->on_rq || !eligible(c))) c = nullptr;
    if (c != nullptr && protect && protect_slice(c)) return c;
    FairEntity* best = nullptr;
    for (FairEntity* e = head_; e != nullptr; e = e->tree_next) {
      if (eligible(e)) {
        best = e;
        break;
      }
    }
    if (best == nullptr ||
        (c != nullptr && fair_detail::vruntime_before(c->deadline, best->deadline))) {
      best = c;
    }
    // The weighted average guarantees an eligible entity; keep a pick anyway.
    if (best == nullptr) best = (curr_ != nullptr && curr_->on_rq) ? curr_ : head_;
    return best;
  }

  // pick_next_task_fair() when the fair class is asked for the CPU's next
  // task: update curr, pick (finishing the dequeue of delayed entities the
  // pick lands on), then put the previous fair task back in the tree and
  // make the pick curr (set_next_entity(): out of the tree, exec_start =
  // now, a new protected slice) unless it is the same task. Returns the new
  // curr, or null when nothing runnable is queued (curr is then null).
  constexpr FairEntity* pick_next(int64_t now) noexcept {
    FairEntity* se = nullptr;
    for (;;) {
      if (nr_queued_ == 0) break;
      if (curr_ != nullptr && curr_->on_rq) update_curr(now);
      se = pick_eevdf(true);
      if (se == nullptr || !se->sched_delayed) break;
      dequeue_entity(se, now, /*sleep=*/true, /*delayed=*/true);
      se = nullptr;
    }
    // __schedule() clears the previous task's flags after the pick: a
    // request made on the way (update_curr) is moot.
    resched_ = false;
    if (se == curr_ && se != nullptr) return se;
    if (curr_ != nullptr) put_prev_entity(now);
    if (se != nullptr) set_next_entity(se, now);
    resched_ = false;
    return se;
  }

  // put_prev_task_fair() when a task of another class takes the CPU from the
  // running fair task: charge it and put it back in the tree (if still
  // queued). No-op when curr is null.
  constexpr void put_prev(int64_t now) noexcept {
    if (curr_ != nullptr) put_prev_entity(now);
    resched_ = false;  // the switch clears the previous task's flags
  }

  // set_next_task_fair() outside a pick: a task that is already running
  // becomes the fair class's curr (its class changed back to fair while it
  // ran: rt_mutex_setprio() enqueues it, then calls set_next_task()).
  // REQUIRES: curr() == nullptr and se->on_rq.
  constexpr void set_next(FairEntity* se, int64_t now) noexcept { set_next_entity(se, now); }

  // check_preempt_wakeup_fair() (6.17+), called after `pse` was enqueued
  // while curr is the running task. `curr_need_resched` is
  // test_tsk_need_resched(curr) (the full flag): then nothing is evaluated.
  // Returns whether the wakee should preempt (resched_curr_lazy(); also left
  // in take_resched()). A wakee with a shorter slice (PREEMPT_SHORT) is
  // judged without curr's protection and, if it does not win, shortens it
  // (update_protect_slice()); if it wins, curr's protection is cancelled.
  constexpr bool wakeup_preempt(FairEntity* pse, int64_t now, bool curr_need_resched) noexcept {
    FairEntity* se = curr_;
    if (se == nullptr || se == pse) return false;
    if (curr_need_resched) return false;
    if (!params_.features.wakeup_preemption) return false;
    update_curr(now);
    const bool short_wakee = params_.features.preempt_short && pse->slice < se->slice;
    if (pick_eevdf(!short_wakee) == pse) {
      if (short_wakee) cancel_protect_slice(se);
      ++stats_.wakeup_preemptions;
      resched_ = true;
      return true;
    }
    if (params_.features.run_to_parity && short_wakee) update_protect_slice(se);
    ++stats_.wakeup_no_preempt;
    return false;
  }

 private:
  constexpr int64_t key(const FairEntity* se) const noexcept {
    return static_cast<int64_t>(se->vruntime - zero_vruntime_);
  }

  constexpr uint64_t vslice_of(const FairEntity* se) const noexcept {
    return calc_delta_fair(se->slice, se->weight, se->inv_weight);
  }

  constexpr void refresh_slice(FairEntity* se) const noexcept {
    se->slice = se->custom_slice_ns != 0 ? se->custom_slice_ns : params_.base_slice_ns;
  }

  // entity_lag(): V - v clamped to +-calc_delta_fair(max(2 * slice, TICK_NSEC)).
  constexpr int64_t entity_lag(uint64_t avruntime, const FairEntity* se) const noexcept {
    const int64_t vlag = static_cast<int64_t>(avruntime - se->vruntime);
    const uint64_t span = 2 * se->slice > params_.tick_ns ? 2 * se->slice : params_.tick_ns;
    const auto limit = static_cast<int64_t>(calc_delta_fair(span, se->weight, se->inv_weight));
    return vlag < -limit ? -limit : (vlag > limit ? limit : vlag);
  }

  // update_deadline(): once vruntime reaches the deadline, a new request
  // vd = v + r/w from here (the overshoot is not carried).
  constexpr bool update_deadline(FairEntity* se) noexcept {
    if (fair_detail::vruntime_before(se->vruntime, se->deadline)) return false;
    refresh_slice(se);
    se->deadline = se->vruntime + vslice_of(se);
    avg_vruntime();
    return true;
  }

  // place_entity(): v = V - lag, the lag inflated by (W + w_i) / W so that
  // it survives the entity's own effect on V (PLACE_LAG; truncating division
  // as div_s64); the deadline one request later (half for a new task), or
  // the saved relative deadline (PLACE_REL_DEADLINE).
  constexpr void place_entity(FairEntity* se, FairEnqueue kind) noexcept {
    const uint64_t v = avg_vruntime();
    int64_t lag = 0;
    refresh_slice(se);
    uint64_t vslice = vslice_of(se);
    if (params_.features.place_lag && nr_queued_ != 0) {
      int64_t load = sum_weight_;
      if (curr_ != nullptr && curr_->on_rq) load += curr_->weight;
      lag = se->vlag;
      lag *= load + static_cast<int64_t>(se->weight);
      if (load == 0) load = 1;
      lag /= load;
    }
    se->vruntime = v - static_cast<uint64_t>(lag);
    if (params_.features.place_rel_deadline && se->rel_deadline) {
      se->deadline += se->vruntime;
      se->rel_deadline = false;
      return;
    }
    if (params_.features.place_deadline_initial && kind == FairEnqueue::kInitial) vslice /= 2;
    se->deadline = se->vruntime + vslice;
  }

  // requeue_delayed_entity(): a delayed sleeper wakes while still queued;
  // with DELAY_ZERO a positive lag is dropped (re-placed at V).
  constexpr void requeue_delayed_entity(FairEntity* se) noexcept {
    if (params_.features.delay_zero) {
      se->vlag = entity_lag(avg_vruntime(), se);
      if (se->vlag > 0) {
        --nr_queued_;
        if (se != curr_) tree_remove(se);
        se->vlag = 0;
        place_entity(se, FairEnqueue::kWakeup);
        if (se != curr_) tree_insert(se);
        ++nr_queued_;
      }
    }
    se->sched_delayed = false;
    --nr_delayed_;
    ++stats_.delayed_requeued;
  }

  // dequeue_entity(): update_curr; a sleeper that is not eligible is kept
  // (DELAY_DEQUEUE, unless `may_delay` is false); otherwise its lag is saved
  // (update_entity_lag), a non-sleep keeps its deadline relative
  // (PLACE_REL_DEADLINE), and it leaves the tree (curr stays curr until
  // put_prev). Finishing a delayed dequeue drops a positive lag (DELAY_ZERO).
  constexpr bool dequeue_entity(FairEntity* se, int64_t now, bool sleep, bool delayed,
                                bool may_delay = false) noexcept {
    update_curr(now);
    if (!delayed && sleep && may_delay && params_.features.delay_dequeue && !eligible(se)) {
      se->sched_delayed = true;
      ++nr_delayed_;
      ++stats_.delayed_dequeues;
      return false;
    }
    se->vlag = entity_lag(avg_vruntime(), se);
    if (params_.features.place_rel_deadline && !sleep) {
      se->deadline -= se->vruntime;
      se->rel_deadline = true;
    }
    if (se != curr_) tree_remove(se);
    se->on_rq = false;
    --nr_queued_;
    if (delayed) {
      se->sched_delayed = false;
      --nr_delayed_;
      ++stats_.delayed_finished;
      if (params_.features.delay_zero && se->vlag > 0) se->vlag = 0;
    }
    return true;
  }

  // set_next_entity(): out of the tree, a new protected slice, exec_start.
  constexpr void set_next_entity(FairEntity* se, int64_t now) noexcept {
    if (se->on_rq) {
      tree_remove(se);
      set_protect_slice(se);
    }
    curr_ = se;
    se->exec_start = now;
    se->prev_sum_exec_runtime = se->sum_exec_runtime;
  }

  // put_prev_entity(): a still-queued curr is charged and goes back in the tree.
  constexpr void put_prev_entity(int64_t now) noexcept {
    FairEntity* prev = curr_;
    if (prev->on_rq) {
      update_curr(now);
      tree_insert(prev);
    }
    curr_ = nullptr;
  }

  // set_protect_slice() (6.17+): protected up to the deadline, or for the
  // shortest request queued if that is shorter (RUN_TO_PARITY); without
  // RUN_TO_PARITY, for one normalized base slice at most.
  constexpr void set_protect_slice(FairEntity* se) const noexcept {
    uint64_t slice = params_.normalized_base_slice_ns;
    uint64_t vprot = se->deadline;
    if (params_.features.run_to_parity) slice = min_slice();
    if (se->slice < slice) slice = se->slice;
    if (slice != se->slice) {
      const uint64_t cand = se->vruntime + calc_delta_fair(slice, se->weight, se->inv_weight);
      if (fair_detail::vruntime_before(cand, vprot)) vprot = cand;
    }
    se->vprot = vprot;
  }

  // update_protect_slice(): shorten the protection to the shortest request queued.
  constexpr void update_protect_slice(FairEntity* se) const noexcept {
    const uint64_t cand = se->vruntime + calc_delta_fair(min_slice(), se->weight, se->inv_weight);
    if (fair_detail::vruntime_before(cand, se->vprot)) se->vprot = cand;
  }

  // cancel_protect_slice().
  static constexpr void cancel_protect_slice(FairEntity* se) noexcept {
    if (protect_slice(se)) se->vprot = se->vruntime;
  }

  // __enqueue_entity(): into the deadline order, after entries with an equal
  // deadline (rb_add_cached() goes right on ties), and into the weighted sum.
  constexpr void tree_insert(FairEntity* se) noexcept {
    FairEntity* after = tail_;
    while (after != nullptr && fair_detail::vruntime_before(se->deadline, after->deadline)) {
      after = after->tree_prev;
    }
    se->tree_prev = after;
    se->tree_next = after != nullptr ? after->tree_next : head_;
    if (se->tree_next != nullptr) {
      se->tree_next->tree_prev = se;
    } else {
      tail_ = se;
    }
    if (after != nullptr) {
      after->tree_next = se;
    } else {
      head_ = se;
    }
    se->in_tree = true;
    if (se->custom_slice_ns != 0) ++n_custom_in_tree_;
    sum_w_key_ += key(se) * static_cast<int64_t>(se->weight);
    sum_weight_ += se->weight;
  }

  // __dequeue_entity().
  constexpr void tree_remove(FairEntity* se) noexcept {
    if (!se->in_tree) return;
    if (se->tree_prev != nullptr) {
      se->tree_prev->tree_next = se->tree_next;
    } else {
      head_ = se->tree_next;
    }
    if (se->tree_next != nullptr) {
      se->tree_next->tree_prev = se->tree_prev;
    } else {
      tail_ = se->tree_prev;
    }
    se->tree_prev = se->tree_next = nullptr;
    se->in_tree = false;
    if (se->custom_slice_ns != 0) --n_custom_in_tree_;
    sum_w_key_ -= key(se) * static_cast<int64_t>(se->weight);
    sum_weight_ -= se->weight;
  }

  FairParams params_{};
  FairEntity* curr_ = nullptr;
  FairEntity* head_ = nullptr;
  FairEntity* tail_ = nullptr;
  // init_cfs_rq(): the reference starts just below the u64 wrap, so the
  // wrap-safe comparisons are exercised from the start.
  uint64_t zero_vruntime_ = static_cast<uint64_t>(-(int64_t{1} << 20));
  int64_t sum_w_key_ = 0;   // \Sum (v_i - v0) * w_i over the tree (cfs_rq->avg_vruntime)
  int64_t sum_weight_ = 0;  // \Sum w_i over the tree (cfs_rq->avg_load)
  uint32_t nr_queued_ = 0;
  uint32_t nr_delayed_ = 0;
  uint32_t n_custom_in_tree_ = 0;  // entities in the tree with a custom slice
  bool resched_ = false;
  FairStats stats_{};
};

}  // namespace pb::exec
