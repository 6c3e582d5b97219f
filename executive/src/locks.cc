// Locks: raw_spinlock_t, spinlock_t, mutex and rt_mutex per model (locks.h,
// policy.h lock_impl()), priority inheritance mirrored in the executive,
// per-CPU access, and the preempt-off / irq-off window trackers.
//
// Lock order: a lock's wait_lock, then any vCPU's rq lock. Both are raw spin
// locks taken with IRQs soft-disabled. The wait_lock is held across
// FUTEX_UNLOCK_PI so that the unlocker's view of the new owner (the TID the
// kernel wrote) cannot go stale before it wakes that owner: a waiter thread
// that returns from FUTEX_LOCK_PI meanwhile only takes its rq lock.
#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "internal.h"
#include "pb/cycleclock.h"
#include "pb/sys.h"

namespace pb::exec {

LockStats detail::LockBase::stats() const noexcept {
  LockStats s;
  s.acquisitions = acquisitions_.load(std::memory_order_relaxed);
  s.contentions = contentions_.load(std::memory_order_relaxed);
  s.pi_boosts = pi_boosts_.load(std::memory_order_relaxed);
  s.max_wait_ns = max_wait_ns_.load(std::memory_order_relaxed);
  return s;
}

void detail::LockBase::reset_stats() noexcept {
  acquisitions_.store(0, std::memory_order_relaxed);
  contentions_.store(0, std::memory_order_relaxed);
  pi_boosts_.store(0, std::memory_order_relaxed);
  max_wait_ns_.store(0, std::memory_order_relaxed);
}

namespace detail {
namespace {

constexpr uint32_t kFutexWaiters = 0x80000000u;  // FUTEX_WAITERS
constexpr uint32_t kTidMask = 0x3fffffffu;       // FUTEX_TID_MASK
// How long a host lock wait lasts before it looks at the run's stop flag.
constexpr int64_t kHostWaitSliceNs = 20'000'000;

// A class as one comparable number: RT priority 1..99, fair 0, idle -1.
int prio_of(const TaskClass& c) noexcept {
  switch (c.sched_class) {
    case SchedClass::kRt:
      return c.rt_priority;
    case SchedClass::kFair:
      return 0;
    case SchedClass::kIdle:
      return -1;
  }
  return -1;
}

uint32_t tid_of(const Task* t) noexcept { return static_cast<uint32_t>(t->tid); }

Task* task_by_tid(ExecState* ex, uint32_t tid) noexcept {
  if (tid == 0) return nullptr;
  const auto key = static_cast<pid_t>(tid);
  auto it = std::lower_bound(ex->by_tid.begin(), ex->by_tid.end(), key,
                             [](const std::pair<pid_t, Task*>& e, pid_t k) { return e.first < k; });
  return (it != ex->by_tid.end() && it->first == key) ? it->second : nullptr;
}

// --- waiter lists (under the lock's wait_lock) -----------------------------------------

void update_top(LockBase& l) noexcept {
  Task* top = LockAccess::waiters(l);
  LockAccess::top_prio(l).store(top != nullptr ? prio_of(top->cls) : -1, std::memory_order_relaxed);
}

// Highest effective priority first, FIFO among equals (rt_mutex_waiter_less()).
// PI locks keep their waiters by priority (rt_mutex_enqueue(), FIFO within
// one); a plain mutex in arrival order (__mutex_add_waiter(): list_add_tail).
void waiter_insert(LockBase& l, Task* t, bool by_priority = true) noexcept {
  Task** pp = &LockAccess::waiters(l);
  const int p = prio_of(t->cls);
  while (*pp != nullptr && (!by_priority || prio_of((*pp)->cls) >= p)) pp = &(*pp)->lock_next;
  t->lock_next = *pp;
  *pp = t;
  t->blocked_on = &l;
  update_top(l);
}

void waiter_remove(LockBase& l, Task* t) noexcept {
  for (Task** pp = &LockAccess::waiters(l); *pp != nullptr; pp = &(*pp)->lock_next) {
    if (*pp == t) {
      *pp = t->lock_next;
      break;
    }
  }
  t->lock_next = nullptr;
  t->blocked_on = nullptr;
  t->blocked_on_pi = false;
  update_top(l);
}

Task* waiter_by_tid(LockBase& l, uint32_t tid) noexcept {
  for (Task* w = LockAccess::waiters(l); w != nullptr; w = w->lock_next) {
    if (tid_of(w) == tid) return w;
  }
  return nullptr;
}

// --- priority inheritance (mirrored) ----------------------------------------------------

// rt_mutex_setprio(): moves `p` to class `c`, requeueing it if queued, and
// asks its vCPU's current task to reschedule when p now outranks it.
// `by` is the task on whose behalf this runs (current on its own vCPU).
// With `only_raise`, nothing changes unless c outranks p's class. Returns
// whether p's class changed.
bool set_effective_class(Task* by, Task* p, TaskClass c, bool only_raise = false) noexcept {
  Vcpu* pv = p->v;
  bool ipi = false;
  pv->rq_lock.lock();
  if (only_raise && prio_of(c) <= prio_of(p->cls)) {
    pv->rq_lock.unlock();
    return false;
  }
  const bool queued = p->on_rq;
  const bool was_fair = p->cls.sched_class == SchedClass::kFair;
  const bool to_fair = c.sched_class == SchedClass::kFair;
  Task* curr = pv->current.load(std::memory_order_relaxed);
  const int64_t clock = task_clock_locked(pv);
  // rt_mutex_setprio(): dequeue (DEQUEUE_SAVE), put_prev if running, change,
  // enqueue (ENQUEUE_RESTORE), set_next if running. A fair sleeper still
  // queued as delayed (DELAY_DEQUEUE) finishes its dequeue first.
  if (queued) {
    pv->rq.deactivate(p, clock, FairDequeue::kSave);
  } else if (was_fair && !to_fair && p->se.on_rq) {
    pv->rq.fair().dequeue(&p->se, clock, FairDequeue::kSave);
    if (pv->rq.fair().curr() == &p->se) pv->rq.fair().put_prev(clock);
  }
  p->cls = c;
  host_class_changed_locked(p);
  if (queued) {
    pv->rq.activate(p, clock, FairEnqueue::kRestore);
  } else if (curr == p && !was_fair && to_fair) {
    pv->rq.fair().enqueue(&p->se, clock, FairEnqueue::kRestore);
    pv->rq.fair().set_next(&p->se, clock);
    // switched_to_fair(): a running task that comes back to the fair class
    // is rescheduled (resched_curr()).
    resched_locked(p, Resched::kFull, false);
  }
  if (queued && curr != nullptr && curr != p && curr != by &&
      prio_of(c) > (curr->is_idle ? -1 : prio_of(curr->cls))) {
    ipi = resched_locked(curr, Resched::kFull, pv != by->v).ipi;
  }
  if (curr == p && p == by) {
    // Deboosting the running task: a queued task may now outrank it.
    const int mine = prio_of(c);
    for (int q = 99; q > mine && q > 0; --q) {
      if (pv->rq.has_rt_prio(q)) {
        resched_locked(p, Resched::kFull, false);
        break;
      }
    }
  }
  pv->rq_lock.unlock();
  if (ipi) send_ipi(by, pv, curr);
  return true;
}

// The priority `t` should run at: its own, or its highest waiter's on any
// sleeping PI lock it holds (rt_mutex_adjust_prio()).
TaskClass inherited_class(const Task* t) noexcept {
  TaskClass best = t->base_cls;
  for (int i = 0; i < t->n_held_pi; ++i) {
    const int p =
        LockAccess::top_prio(*t->held_pi[static_cast<size_t>(i)]).load(std::memory_order_relaxed);
    if (p > prio_of(best)) best = p > 0 ? TaskClass{SchedClass::kRt, p} : best;
  }
  return best;
}

void adjust_prio(Task* t) noexcept {
  const TaskClass want = inherited_class(t);
  if (want.sched_class != t->cls.sched_class || want.rt_priority != t->cls.rt_priority) {
    set_effective_class(t, t, want);
  }
}

void held_push(Task* t, LockBase* l) noexcept {
  if (t->n_held_pi < kMaxHeldLocks) t->held_pi[static_cast<size_t>(t->n_held_pi++)] = l;
}

void held_remove(Task* t, LockBase* l) noexcept {
  for (int i = t->n_held_pi - 1; i >= 0; --i) {
    if (t->held_pi[static_cast<size_t>(i)] == l) {
      t->held_pi[static_cast<size_t>(i)] = t->held_pi[static_cast<size_t>(t->n_held_pi - 1)];
      --t->n_held_pi;
      return;
    }
  }
}

// --- spinning -------------------------------------------------------------------------

// do_raw_spin_lock(): the caller already raised the count. Returns false
// (without the lock) only when the run stops while spinning.
bool spin_acquire(Task* t, LockBase& l) noexcept {
  std::atomic<uint32_t>& w = LockAccess::word(l);
  uint32_t expected = 0;
  if (w.compare_exchange_strong(expected, tid_of(t), std::memory_order_acquire)) {
    LockAccess::count_acquire(l);
    return true;
  }
  t->v->lock_contentions.fetch_add(1, std::memory_order_relaxed);
  const int64_t start = sys::now_ns();
  for (;;) {
    while (w.load(std::memory_order_relaxed) != 0) {
      if (stopping(t)) return false;
      pb::cpu_relax();
    }
    expected = 0;
    if (w.compare_exchange_weak(expected, tid_of(t), std::memory_order_acquire)) break;
  }
  LockAccess::count_contention(l, sys::now_ns() - start);
  LockAccess::count_acquire(l);
  return true;
}

void spin_release(Task* t, LockBase& l) noexcept {
  std::atomic<uint32_t>& w = LockAccess::word(l);
  if ((w.load(std::memory_order_relaxed) & kTidMask) == tid_of(t)) {
    w.store(0, std::memory_order_release);
  }
}

// --- sleeping with priority inheritance (rt_mutex) ---------------------------------------

struct PiWait {
  LockBase* l;
};

// Off the CPU: block on the host in FUTEX_LOCK_PI (the kernel boosts the
// owner's thread), then make this task runnable on its vCPU unless the
// unlocker already did.
void pi_host_wait(Task* t, void* arg) noexcept {
  LockBase& l = *static_cast<PiWait*>(arg)->l;
  std::atomic<uint32_t>& w = LockAccess::word(l);
  for (;;) {
    const int r = sys::futex_lock_pi_until(&w, sys::now_ns() + kHostWaitSliceNs);
    if (r == 0) break;
    if (r == -EDEADLK && (w.load(std::memory_order_relaxed) & kTidMask) == tid_of(t)) break;
    if (r == -EDEADLK) {
      // The host's rt_mutex found a cycle (an AB-BA deadlock): it would
      // never end on a real kernel either.
      debug_report(t, "executive: rt_mutex deadlock (the host returned EDEADLK): ending the run\n");
      request_stop(t->ex);
      return;
    }
    if (r == -ETIMEDOUT || r == -EINTR || r == -EAGAIN) {
      if (stopping(t)) return;
      continue;
    }
    char buf[160];
    std::snprintf(buf, sizeof(buf), "executive: FUTEX_LOCK_PI failed (errno %d): ending the run\n",
                  -r);
    debug_report(t, buf);
    request_stop(t->ex);
    return;
  }
  wake_from_host(t);
}

// rt_mutex_adjust_prio_chain(), bounded: `owner` was just raised to t's
// priority; if it waits for a PI lock itself, that lock's owner inherits the
// priority too, and so on. One wait_lock at a time (never nested), each
// link re-checked under its lock; the walk stops at a link that changed, at
// a non-PI lock, at an owner already at or above the priority, at a cycle
// back to t (the host's FUTEX_LOCK_PI reports the deadlock), or after
// kMaxPiChainDepth links. Runs with t's IRQs soft-off.
void boost_chain(Task* t, Task* owner) noexcept {
  for (int depth = 0; depth < kMaxPiChainDepth; ++depth) {
    LockBase* next = owner->blocked_on.load(std::memory_order_acquire);
    if (next == nullptr) return;
    LockAccess::lock(*next);
    if (owner->blocked_on.load(std::memory_order_relaxed) != next || !owner->blocked_on_pi) {
      LockAccess::unlock(*next);
      return;
    }
    // The raised waiter moves up next's waiter list (and its top priority).
    waiter_remove(*next, owner);
    waiter_insert(*next, owner);
    owner->blocked_on_pi = true;
    Task* next_owner =
        task_by_tid(t->ex, LockAccess::word(*next).load(std::memory_order_relaxed) & kTidMask);
    const bool raised = next_owner != nullptr && next_owner != owner && next_owner != t &&
                        set_effective_class(t, next_owner, t->cls, true);
    if (raised) LockAccess::count_boost(*next);
    LockAccess::unlock(*next);
    if (!raised) return;
    host_class_sync(next_owner);
    t->v->pi_boosts.fetch_add(1, std::memory_order_relaxed);
    owner = next_owner;
  }
}

// rtlock: an RT spinlock_t (its waiter schedules in SM_RTLOCK_WAIT).
bool pi_acquire(Task* t, LockBase& l, bool rtlock) noexcept {
  std::atomic<uint32_t>& w = LockAccess::word(l);
  const uint32_t tid = tid_of(t);
  uint32_t expected = 0;
  if (w.compare_exchange_strong(expected, tid, std::memory_order_acquire)) {
    held_push(t, &l);
    LockAccess::count_acquire(l);
    return true;
  }
  t->v->lock_contentions.fetch_add(1, std::memory_order_relaxed);
  const int64_t start = sys::now_ns();
  for (;;) {
    if (stopping(t)) return false;
    uint32_t irqs = irq_save(t);
    LockAccess::lock(l);
    // Take it if free; else make sure the owner's unlock takes the slow path.
    uint32_t cur = w.load(std::memory_order_relaxed);
    bool got = false;
    for (;;) {
      if (cur == 0) {
        if (w.compare_exchange_weak(cur, tid, std::memory_order_acquire)) {
          got = true;
          break;
        }
        continue;
      }
      if ((cur & kFutexWaiters) != 0 ||
          w.compare_exchange_weak(cur, cur | kFutexWaiters, std::memory_order_relaxed)) {
        break;
      }
    }
    if (got) {
      held_push(t, &l);
      adjust_prio(t);
      LockAccess::unlock(l);
      host_class_sync(t);
      irq_restore_replay(t, irqs);
      LockAccess::count_contention(l, sys::now_ns() - start);
      LockAccess::count_acquire(l);
      return true;
    }
    waiter_insert(l, t);
    t->blocked_on_pi = true;
    // Boost the owner to our priority, then down the chain of owners that
    // themselves wait for a PI lock.
    Task* owner = task_by_tid(t->ex, cur & kTidMask);
    const bool boosted =
        owner != nullptr && owner != t && set_effective_class(t, owner, t->cls, true);
    if (boosted) {
      LockAccess::count_boost(l);
      t->v->pi_boosts.fetch_add(1, std::memory_order_relaxed);
    }
    t->v->rq_lock.lock();
    t->state = TaskState::kBlocked;
    t->v->rq_lock.unlock();
    LockAccess::unlock(l);
    if (boosted) {
      host_class_sync(owner);
      boost_chain(t, owner);
    }
    irq_restore_replay(t, irqs);
    PiWait arg{&l};
    schedule_block(t, &pi_host_wait, &arg, rtlock);
    // Back on the CPU: dispatched after the host handed us the word, or
    // the run is stopping, or we were never switched out.
    irqs = irq_save(t);
    LockAccess::lock(l);
    waiter_remove(l, t);
    const bool own = (w.load(std::memory_order_relaxed) & kTidMask) == tid;
    if (own) {
      held_push(t, &l);
      adjust_prio(t);  // inherit from the waiters still queued
    }
    LockAccess::unlock(l);
    host_class_sync(t);
    irq_restore_replay(t, irqs);
    set_state_running(t);
    if (own) {
      LockAccess::count_contention(l, sys::now_ns() - start);
      LockAccess::count_acquire(l);
      return true;
    }
  }
}

void pi_release(Task* t, LockBase& l) noexcept {
  std::atomic<uint32_t>& w = LockAccess::word(l);
  const uint32_t tid = tid_of(t);
  uint32_t expected = tid;
  if ((w.load(std::memory_order_relaxed) & kTidMask) != tid) return;  // not ours
  held_remove(t, &l);
  if (w.compare_exchange_strong(expected, 0, std::memory_order_release)) {
    if (t->cls.sched_class != t->base_cls.sched_class ||
        t->cls.rt_priority != t->base_cls.rt_priority) {
      const uint32_t irqs = irq_save(t);
      adjust_prio(t);
      irq_restore_noreplay(t, irqs);
      host_class_sync(t);
    }
    return;
  }
  // Waiters: the kernel hands the word to its top waiter (or clears it when
  // none has reached the kernel yet); the TID it wrote names the new owner.
  const uint32_t irqs = irq_save(t);
  LockAccess::lock(l);
  sys::futex_unlock_pi(&w);
  Task* next = waiter_by_tid(l, w.load(std::memory_order_relaxed) & kTidMask);
  adjust_prio(t);  // rt_mutex_adjust_prio(): drop what this lock lent us
  if (next != nullptr) try_to_wake_up(t, next);
  LockAccess::unlock(l);
  host_class_sync(t);
  irq_restore_replay(t, irqs);
}

// --- sleeping without priority inheritance (mutex off RT) ---------------------------------

// The futex-word protocol (0 free, TID held, FUTEX_WAITERS when sleepers may
// exist) with the sleep in the executive: the waiter queues, blocks
// (schedule()) and retries when woken; the unlocker clears the word and
// wakes the first waiter (mutex_unlock() -> __mutex_unlock_slowpath()). No
// task's priority changes.
bool plain_acquire(Task* t, LockBase& l) noexcept {
  std::atomic<uint32_t>& w = LockAccess::word(l);
  const uint32_t tid = tid_of(t);
  uint32_t expected = 0;
  if (w.compare_exchange_strong(expected, tid, std::memory_order_acquire)) {
    LockAccess::count_acquire(l);
    return true;
  }
  t->v->lock_contentions.fetch_add(1, std::memory_order_relaxed);
  const int64_t start = sys::now_ns();
  for (;;) {
    if (stopping(t)) return false;
    const uint32_t irqs = irq_save(t);
    LockAccess::lock(l);
    if (t->blocked_on == &l) waiter_remove(l, t);
    uint32_t cur = w.load(std::memory_order_relaxed);
    if ((cur & kTidMask) == 0) {
      const uint32_t want = tid | (LockAccess::waiters(l) != nullptr ? kFutexWaiters : 0);
      w.store(want, std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      LockAccess::unlock(l);
      irq_restore_replay(t, irqs);
      LockAccess::count_contention(l, sys::now_ns() - start);
      LockAccess::count_acquire(l);
      return true;
    }
    while ((cur & kFutexWaiters) == 0 &&
           !w.compare_exchange_weak(cur, cur | kFutexWaiters, std::memory_order_relaxed)) {
    }
    if ((cur & kTidMask) == 0) {  // released meanwhile: retry
      LockAccess::unlock(l);
      irq_restore_replay(t, irqs);
      continue;
    }
    waiter_insert(l, t, /*by_priority=*/false);
    t->v->rq_lock.lock();
    t->state = TaskState::kBlocked;
    t->v->rq_lock.unlock();
    LockAccess::unlock(l);
    irq_restore_replay(t, irqs);
    schedule_block(t);
    set_state_running(t);
  }
}

void plain_release(Task* t, LockBase& l) noexcept {
  std::atomic<uint32_t>& w = LockAccess::word(l);
  const uint32_t tid = tid_of(t);
  uint32_t expected = tid;
  if ((w.load(std::memory_order_relaxed) & kTidMask) != tid) return;
  if (w.compare_exchange_strong(expected, 0, std::memory_order_release)) return;
  const uint32_t irqs = irq_save(t);
  LockAccess::lock(l);
  Task* first = LockAccess::waiters(l);
  w.store(first != nullptr ? kFutexWaiters : 0, std::memory_order_release);
  if (first != nullptr) {
    waiter_remove(l, first);
    try_to_wake_up(t, first);
  }
  LockAccess::unlock(l);
  irq_restore_replay(t, irqs);
}

// Sleeping-lock debug check and the might_sleep() point.
void sleeping_lock_checks(Task* t, LockType type, const std::source_location& loc) noexcept {
  const Model m = t->ex->cfg.model;
  const PreemptCount c = t->preempt_count.load(std::memory_order_relaxed);
  const bool irqs = t->irqs_disabled.load(std::memory_order_relaxed) != 0;
  if (lock_acquire_is_bug(m, type, c, irqs, t->rcu_depth)) might_sleep_check(t, loc);
  if (type != LockType::kSpinlock) preempt_point(t, Point::kMightResched);
}

bool sleeping_acquire(Task* t, LockBase& l, LockType type) noexcept {
  return lock_impl(t->ex->cfg.model, type) == LockImpl::kSleepingPi
             ? pi_acquire(t, l, type == LockType::kSpinlock)
             : plain_acquire(t, l);
}

void sleeping_release(Task* t, LockBase& l, LockType type) noexcept {
  if (lock_impl(t->ex->cfg.model, type) == LockImpl::kSleepingPi) {
    pi_release(t, l);
  } else {
    plain_release(t, l);
  }
  // The unlock's preempt_enable() (wake_up_q() runs under preemption off).
  if (t->resched.load(std::memory_order_relaxed) != 0) preempt_point(t, Point::kPreemptEnable);
}

}  // namespace

// --- windows -------------------------------------------------------------------------------

void window_begin(TaskHot* h, WindowKind k, const std::source_location& loc) noexcept {
  Task* t = to_task(h);
  if (k == kPreemptOffWindow) {
    t->poff_start = cycleclock::ticks();
    t->poff_loc = loc;
  } else {
    t->ioff_start = cycleclock::ticks();
    t->ioff_loc = loc;
  }
}

void window_end(TaskHot* h, WindowKind k) noexcept {
  Task* t = to_task(h);
  Vcpu* v = t->v;
  const uint64_t now = cycleclock::ticks();
  if (k == kPreemptOffWindow) {
    if (t->poff_start == 0) return;
    const uint64_t d = now - t->poff_start;
    t->poff_start = 0;
    if (d > v->poff_max_ticks) {
      v->poff_max_ticks = d;
      v->poff_max_loc = t->poff_loc;
    }
  } else {
    if (t->ioff_start == 0) return;
    const uint64_t d = now - t->ioff_start;
    t->ioff_start = 0;
    if (d > v->ioff_max_ticks) {
      v->ioff_max_ticks = d;
      v->ioff_max_loc = t->ioff_loc;
    }
  }
}

}  // namespace detail

// --- TaskApi ---------------------------------------------------------------------------------

using detail::LockAccess;
using detail::Task;
using detail::to_task;

void TaskApi::raw_spin_lock_slow(RawSpinlock& l, std::source_location loc) noexcept {
  Task* t = to_task(t_);
  detail::lockdep_before(t, l);
  preempt_disable(loc);
  if (detail::spin_acquire(t, l)) detail::lockdep_acquired(t, l);
}

void TaskApi::raw_spin_lock_contended(RawSpinlock& l) noexcept {
  detail::spin_acquire(to_task(t_), l);
}

void TaskApi::raw_spin_unlock_slow(RawSpinlock& l) noexcept {
  Task* t = to_task(t_);
  detail::lockdep_released(t, l);
  detail::spin_release(t, l);
  preempt_enable();
}

unsigned long TaskApi::raw_spin_lock_irqsave(RawSpinlock& l, std::source_location loc) noexcept {
  Task* t = to_task(t_);
  detail::lockdep_before(t, l);
  const unsigned long flags = local_irq_save(loc);
  preempt_disable(loc);
  if (detail::spin_acquire(t, l)) detail::lockdep_acquired(t, l);
  return flags;
}

void TaskApi::raw_spin_unlock_irqrestore(RawSpinlock& l, unsigned long flags) noexcept {
  Task* t = to_task(t_);
  detail::lockdep_released(t, l);
  detail::spin_release(t, l);
  local_irq_restore(flags);
  preempt_enable();
}

bool TaskApi::spin_lock(Spinlock& l, std::source_location loc) noexcept {
  Task* t = to_task(t_);
  detail::lockdep_before(t, l);
  if (lock_impl(t->ex->cfg.model, LockType::kSpinlock) == LockImpl::kSpinning) {
    preempt_disable(loc);
    if (!detail::spin_acquire(t, l)) return false;
    detail::lockdep_acquired(t, l);
    return true;
  }
  // rt_spin_lock(): rtlock_might_resched(), rcu_read_lock(), migrate_disable()
  // (vCPUs never migrate), then the rt_mutex.
  detail::sleeping_lock_checks(t, LockType::kSpinlock, loc);
  ++t->rcu_depth;
  if (detail::pi_acquire(t, l, /*rtlock=*/true)) {
    detail::lockdep_acquired(t, l);
    return true;
  }
  --t->rcu_depth;
  return false;
}

void TaskApi::spin_unlock(Spinlock& l) noexcept {
  Task* t = to_task(t_);
  detail::lockdep_released(t, l);
  if (lock_impl(t->ex->cfg.model, LockType::kSpinlock) == LockImpl::kSpinning) {
    detail::spin_release(t, l);
    preempt_enable();
    return;
  }
  if ((LockAccess::word(l).load(std::memory_order_relaxed) & 0x3fffffffu) !=
      static_cast<uint32_t>(t->tid)) {
    return;
  }
  detail::sleeping_release(t, l, LockType::kSpinlock);
  if (t->rcu_depth > 0) --t->rcu_depth;
}

unsigned long TaskApi::spin_lock_irqsave(Spinlock& l, std::source_location loc) noexcept {
  Task* t = to_task(t_);
  if (lock_irq_variant_masks_irqs(t->ex->cfg.model, LockType::kSpinlock)) {
    detail::lockdep_before(t, l);
    const unsigned long flags = local_irq_save(loc);
    preempt_disable(loc);
    if (detail::spin_acquire(t, l)) detail::lockdep_acquired(t, l);
    return flags;
  }
  spin_lock(l, loc);
  return 0;
}

void TaskApi::spin_unlock_irqrestore(Spinlock& l, unsigned long flags) noexcept {
  Task* t = to_task(t_);
  if (lock_irq_variant_masks_irqs(t->ex->cfg.model, LockType::kSpinlock)) {
    detail::lockdep_released(t, l);
    detail::spin_release(t, l);
    local_irq_restore(flags);
    preempt_enable();
    return;
  }
  spin_unlock(l);
}

bool TaskApi::mutex_lock(Mutex& l, std::source_location loc) noexcept {
  Task* t = to_task(t_);
  if (detail::stopping(t)) return false;
  detail::sleeping_lock_checks(t, LockType::kMutex, loc);
  detail::lockdep_before(t, l);
  if (!detail::sleeping_acquire(t, l, LockType::kMutex)) return false;
  detail::lockdep_acquired(t, l);
  return true;
}

void TaskApi::mutex_unlock(Mutex& l) noexcept {
  Task* t = to_task(t_);
  detail::lockdep_released(t, l);
  detail::sleeping_release(t, l, LockType::kMutex);
}

bool TaskApi::rt_mutex_lock(RtMutex& l, std::source_location loc) noexcept {
  Task* t = to_task(t_);
  if (detail::stopping(t)) return false;
  detail::sleeping_lock_checks(t, LockType::kRtMutex, loc);
  detail::lockdep_before(t, l);
  if (!detail::pi_acquire(t, l, /*rtlock=*/false)) return false;
  detail::lockdep_acquired(t, l);
  return true;
}

void TaskApi::rt_mutex_unlock(RtMutex& l) noexcept {
  Task* t = to_task(t_);
  detail::lockdep_released(t, l);
  detail::sleeping_release(t, l, LockType::kRtMutex);
}

int TaskApi::effective_priority() const noexcept { return detail::prio_of(to_task(t_)->cls); }

int TaskApi::get_cpu(std::source_location loc) noexcept {
  preempt_disable(loc);
  return vcpu();
}

void TaskApi::put_cpu() noexcept { preempt_enable(); }

}  // namespace pb::exec
