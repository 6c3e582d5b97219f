// The emulated scheduler: the runqueue, the switch (dispatch gating),
// preemption points, wakeups and IPIs, blocking (completions, sleeps,
// periodic release) and the TaskApi calls built on them.
//
// Every "switch now or defer" below is pb::exec::decide(); every reschedule
// request goes through on_wakeup()/resched_curr()/promote_lazy_at_tick()
// (policy.h). This file only carries out what they answer.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "internal.h"
#include "pb/cycleclock.h"
#include "pb/sys.h"

namespace pb::exec {
namespace detail {

__thread Task* tls_task __attribute__((tls_model("initial-exec"))) = nullptr;

namespace {

// The inline fast paths in task.h skip decide() when no reschedule flag is
// set. That is sound only if decide() never switches without a flag at any
// point but schedule(); proven here for every model, point and context shape.
consteval bool decide_needs_a_flag_to_switch() {
  constexpr PreemptCount kCounts[] = {0,
                                      kPreemptOffset,
                                      2 * kPreemptOffset,
                                      kSoftirqOffset,
                                      kSoftirqDisableOffset,
                                      kSoftirqDisableOffset + kPreemptOffset,
                                      kHardirqOffset,
                                      kHardirqOffset + kPreemptOffset,
                                      kNmiEnterOffset};
  for (Model m : kAllModels) {
    for (Point p : kAllPoints) {
      if (p == Point::kSchedule) continue;
      for (PreemptCount c : kCounts) {
        for (bool irqs : {false, true}) {
          if (decide(m, p, Context{c, irqs, ReschedFlags{}}).switch_now) return false;
        }
      }
    }
  }
  return true;
}
static_assert(decide_needs_a_flag_to_switch(),
              "task.h skips decide() when no reschedule flag is set");

constexpr size_t point_index(Point p) noexcept { return static_cast<size_t>(p); }
constexpr size_t reason_index(Reason r) noexcept { return static_cast<size_t>(r); }
static_assert(static_cast<size_t>(Reason::kIrqsDisabled) + 1 == kNumReasons);

}  // namespace

Context context_of(const Task* t) noexcept {
  const uint32_t f = t->resched.load(std::memory_order_relaxed);
  return Context{t->preempt_count.load(std::memory_order_relaxed),
                 t->irqs_disabled.load(std::memory_order_relaxed) != 0,
                 ReschedFlags{(f & kReschedFull) != 0, (f & kReschedLazy) != 0}};
}

// Soft IRQ save/restore for the executive's own critical sections. The
// restore does not replay: callers that return to task code replay
// explicitly (irq_restore_replay).
uint32_t irq_save(Task* t) noexcept {
  const uint32_t was = t->irqs_disabled.load(std::memory_order_relaxed);
  t->irqs_disabled.store(1, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  return was;
}
void irq_restore_noreplay(Task* t, uint32_t was) noexcept {
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t->irqs_disabled.store(was, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
}
void irq_restore_replay(Task* t, uint32_t was) noexcept {
  irq_restore_noreplay(t, was);
  if (was == 0 && t->irq_pending->load(std::memory_order_relaxed) != 0) irq_loop(t, true);
}

namespace {
TaskClass class_of(const Task* t) noexcept { return t->cls; }
}  // namespace

// Sets the flag `r` on `curr` as resched_curr() says; under curr's rq lock.
// Returns the action taken.
ReschedAction resched_locked(Task* curr, Resched r, bool remote) noexcept {
  const uint32_t f = curr->resched.load(std::memory_order_relaxed);
  const ReschedAction a = resched_curr(
      r, ReschedFlags{(f & kReschedFull) != 0, (f & kReschedLazy) != 0}, curr->is_idle, remote);
  if (a.set != Resched::kNone) {
    curr->resched.fetch_or(a.set == Resched::kFull ? kReschedFull : kReschedLazy,
                           std::memory_order_seq_cst);
  }
  return a;
}

void record_decision(Vcpu* v, Point p, const Decision& d) noexcept {
  ++v->stats.decisions[point_index(p)][reason_index(d.reason)];
  v->heartbeat.store(v->heartbeat.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

namespace {

void trace_dispatch(Vcpu* v, const Task* next, const Task* prev, SwitchCause cause, Point p) {
  auto& tr = v->stats.trace;
  if (tr.size() < tr.capacity()) {
    tr.push_back(
        DispatchRecord{next->id, prev != nullptr ? prev->id : -1, cause, p, v->stats.ticks});
  } else {
    ++v->stats.trace_dropped;
  }
}

// Completion internals, under the completion's lock.
void wq_append(Completion& c, Task* t) noexcept;
void wq_remove(Completion& c, Task* t) noexcept;
Task* wq_pop(Completion& c) noexcept;

}  // namespace

namespace {
void wq_append(Completion& c, Task* t) noexcept {
  t->wq_next = nullptr;
  t->wq_queued = true;
  Task*& tail = CompletionAccess::tail(c);
  if (tail != nullptr) {
    tail->wq_next = t;
  } else {
    CompletionAccess::head(c) = t;
  }
  tail = t;
}
void wq_remove(Completion& c, Task* t) noexcept {
  Task* prev = nullptr;
  for (Task* w = CompletionAccess::head(c); w != nullptr; prev = w, w = w->wq_next) {
    if (w != t) continue;
    if (prev != nullptr) {
      prev->wq_next = w->wq_next;
    } else {
      CompletionAccess::head(c) = w->wq_next;
    }
    if (CompletionAccess::tail(c) == w) CompletionAccess::tail(c) = prev;
    break;
  }
  t->wq_next = nullptr;
  t->wq_queued = false;
}
Task* wq_pop(Completion& c) noexcept {
  Task* t = CompletionAccess::head(c);
  if (t == nullptr) return nullptr;
  CompletionAccess::head(c) = t->wq_next;
  if (CompletionAccess::head(c) == nullptr) CompletionAccess::tail(c) = nullptr;
  t->wq_next = nullptr;
  t->wq_queued = false;
  return t;
}
}  // namespace

// --- runqueue ------------------------------------------------------------------------------

void RunQueue::push_rt(Task* t, bool at_head) noexcept {
  // The effective class: a PI-boosted task queues at its inherited priority.
  const auto p = static_cast<unsigned>(t->cls.rt_priority);
  List& l = rt_[p];
  t->rq_prev = nullptr;
  t->rq_next = nullptr;
  if (l.head == nullptr) {
    l.head = l.tail = t;
  } else if (at_head) {
    t->rq_next = l.head;
    l.head->rq_prev = t;
    l.head = t;
  } else {
    t->rq_prev = l.tail;
    l.tail->rq_next = t;
    l.tail = t;
  }
  bitmap_[p / 64] |= uint64_t{1} << (p % 64);
  ++nr_rt_;
}

void RunQueue::erase_rt(Task* t) noexcept {
  const auto p = static_cast<unsigned>(t->cls.rt_priority);
  List& l = rt_[p];
  if (t->rq_prev != nullptr) {
    t->rq_prev->rq_next = t->rq_next;
  } else {
    l.head = t->rq_next;
  }
  if (t->rq_next != nullptr) {
    t->rq_next->rq_prev = t->rq_prev;
  } else {
    l.tail = t->rq_prev;
  }
  t->rq_prev = t->rq_next = nullptr;
  if (l.head == nullptr) bitmap_[p / 64] &= ~(uint64_t{1} << (p % 64));
  --nr_rt_;
}

void RunQueue::activate(Task* t, int64_t clock, FairEnqueue kind) noexcept {
  t->on_rq = true;
  if (t->cls.sched_class == SchedClass::kRt) {
    push_rt(t, false);
  } else {
    fair_.enqueue(&t->se, clock, kind);
  }
}

void RunQueue::requeue_prev(Task* t, bool at_head) noexcept {
  t->on_rq = true;
  if (t->cls.sched_class == SchedClass::kRt) push_rt(t, at_head);
}

void RunQueue::deactivate(Task* t, int64_t clock, FairDequeue kind) noexcept {
  if (t->cls.sched_class == SchedClass::kRt) {
    if (t->on_rq) erase_rt(t);
  } else if (t->se.on_rq) {
    fair_.dequeue(&t->se, clock, kind);
  }
  t->on_rq = false;
}

Task* RunQueue::pick(int64_t clock) noexcept {
  Task* t = nullptr;
  if (bitmap_[1] != 0) {
    t = rt_[64 + 63 - static_cast<size_t>(__builtin_clzll(bitmap_[1]))].head;
  } else if (bitmap_[0] != 0) {
    t = rt_[63 - static_cast<size_t>(__builtin_clzll(bitmap_[0]))].head;
  }
  if (t != nullptr) {
    erase_rt(t);
    t->on_rq = false;
    fair_.put_prev(clock);
    return t;
  }
  FairEntity* se = fair_.pick_next(clock);
  if (se == nullptr) return nullptr;
  t = static_cast<Task*>(se->owner);
  t->on_rq = false;
  return t;
}

uint32_t RunQueue::nr_running() const noexcept {
  const FairEntity* c = fair_.curr();
  const uint32_t running_fair = (c != nullptr && c->on_rq && !c->sched_delayed) ? 1 : 0;
  return nr_rt_ + fair_.nr_runnable() - running_fair;
}

int RunQueue::top_rt_prio() const noexcept {
  if (bitmap_[1] != 0) return 64 + 63 - __builtin_clzll(bitmap_[1]);
  if (bitmap_[0] != 0) return 63 - __builtin_clzll(bitmap_[0]);
  return 0;
}

bool RunQueue::has_rt_prio(int prio) const noexcept {
  const auto p = static_cast<unsigned>(prio);
  return (bitmap_[p / 64] & (uint64_t{1} << (p % 64))) != 0;
}

int64_t task_clock_locked(Vcpu* v) noexcept {
  const int64_t c = sys::now_ns() - v->handler_ns.load(std::memory_order_relaxed) -
                    v->host_stolen_ns.load(std::memory_order_relaxed);
  if (c > v->task_clock_ns) v->task_clock_ns = c;
  return v->task_clock_ns;
}

// --- hrtimer heap --------------------------------------------------------------------------

bool HrtimerHeap::push(Hrtimer* h) noexcept {
  if (heap_.size() >= cap_) return false;
  heap_.push_back(h);
  h->heap_index = static_cast<int>(heap_.size() - 1);
  sift_up(heap_.size() - 1);
  return true;
}

Hrtimer* HrtimerHeap::pop() noexcept {
  if (heap_.empty()) return nullptr;
  Hrtimer* h = heap_.front();
  remove(h);
  return h;
}

void HrtimerHeap::remove(Hrtimer* h) noexcept {
  if (h->heap_index < 0) return;
  const auto i = static_cast<size_t>(h->heap_index);
  Hrtimer* last = heap_.back();
  heap_.pop_back();
  h->heap_index = -1;
  if (i < heap_.size()) {
    place(i, last);
    sift_up(i);
    sift_down(static_cast<size_t>(last->heap_index));
  }
}

void HrtimerHeap::sift_up(size_t i) noexcept {
  Hrtimer* h = heap_[i];
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (heap_[parent]->expires <= h->expires) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, h);
}

void HrtimerHeap::sift_down(size_t i) noexcept {
  Hrtimer* h = heap_[i];
  const size_t n = heap_.size();
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1]->expires < heap_[child]->expires) ++child;
    if (h->expires <= heap_[child]->expires) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, h);
}

// --- accounting -------------------------------------------------------------------------------

AcctState acct_state_of(const Task* t) noexcept {
  if (t->is_idle) return kAcctIdle;
  return t->mode == Mode::kUser ? kAcctUser : kAcctKernel;
}

void acct_switch(Vcpu* v, AcctState s) noexcept {
  const uint64_t now = cycleclock::ticks();
  v->acct_ticks[v->acct_state] += now - v->acct_stamp;
  v->acct_stamp = now;
  v->acct_state = s;
}

void debug_report(Task* t, const char* text) noexcept {
  if (!t->ex->cfg.print_debug_reports) return;
  // The kernel rate-limits these to one a second; the emulation prints the
  // first 16 of a run.
  if (t->ex->debug_reports.fetch_add(1, std::memory_order_relaxed) >= 16) return;
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, text, std::strlen(text));
}

void request_stop(ExecState* ex) noexcept {
  ex->stop_word.store(1, std::memory_order_seq_cst);
  sys::futex_wake(&ex->stop_word, 1);
}

// --- the switch ----------------------------------------------------------------------------------

void park_until_dispatched(Task* t, int64_t direct_deadline) noexcept {
  for (;;) {
    // Taking the dispatch is a compare-exchange: a direct wakeup may take
    // the idle task's back before it ran (direct_wakeup()).
    uint32_t dispatched = 1;
    if (t->gate.compare_exchange_strong(dispatched, 0, std::memory_order_acquire)) break;
    if (stopping(t)) break;
    if (direct_deadline == 0) {
      sys::futex_wait(&t->gate, 0);
      continue;
    }
    sys::futex_wait(&t->gate, 0, direct_deadline);
    if (t->gate.load(std::memory_order_acquire) == 0 && sys::now_ns() >= direct_deadline) {
      direct_deadline = 0;
      direct_wakeup(t);
    }
  }
}

void on_dispatched(Task* t) noexcept {
  t->gate.store(0, std::memory_order_relaxed);
  t->oncpu.store(true, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (stopping(t)) return;
  Vcpu* v = t->v;
  t->offcpu_ns.store(t->offcpu_ns.load(std::memory_order_relaxed) + t->picked_ns - t->parked_ns,
                     std::memory_order_relaxed);
  ++t->dispatches;
  // Whatever IPI was in flight is superseded: the pick that dispatched this
  // task saw the runqueue as the sender left it.
  v->ipi_pending.store(0, std::memory_order_seq_cst);
  if (t->parked_armed) {
    for (int i = 0; i < v->n_parked_armed; ++i) {
      if (v->parked_armed[static_cast<size_t>(i)] == t) {
        v->parked_armed[static_cast<size_t>(i)] =
            v->parked_armed[static_cast<size_t>(--v->n_parked_armed)];
        break;
      }
    }
    t->parked_armed = false;
  }
  // The current task's timer is armed for the vCPU's next expiry: kept from
  // when it parked if still right and in the future, else armed now.
  const int64_t programmed = arm_target(t, v);
  if (t->armed_ns != programmed || programmed <= t->picked_ns) timer_arm(t, programmed);
  host_class_dispatched(t);
}

void schedule_core(Task* t, Point p, SwitchKind kind, bool from_irq, OffCpuHook off_cpu,
                   void* off_cpu_arg) noexcept {
  if (stopping(t)) return;
  Vcpu* v = t->v;
  const uint32_t saved_irqs = irq_save(t);
  v->rq_lock.lock();
  if (kind == SwitchKind::kExit) t->state = TaskState::kDead;
  // A task preempted (or calling schedule() after a wakeup already made it
  // running) stays on the runqueue; RT and fair tasks keep their place at the
  // head unless a slice expiry or a fair wakeup sent them to the tail.
  const bool blocking =
      kind == SwitchKind::kExit || (kind == SwitchKind::kBlock && t->state != TaskState::kRunning);
  const int64_t clock = task_clock_locked(v);
  if (!t->is_idle) {
    if (!blocking) {
      v->rq.requeue_prev(t, !t->requeue_tail);
    } else {
      v->rq.deactivate(t, clock,
                       kind == SwitchKind::kExit ? FairDequeue::kSpecial : FairDequeue::kSleep);
    }
  }
  Task* next = v->rq.pick(clock);
  if (next == nullptr) next = v->idle;
  // clear_tsk_need_resched(prev): both flags, whatever comes next.
  t->resched.store(0, std::memory_order_relaxed);
  t->requeue_tail = false;
  if (next == t) {
    v->rq_lock.unlock();
    v->heartbeat.store(v->heartbeat.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (from_irq) {
      irq_restore_noreplay(t, saved_irqs);
    } else {
      irq_restore_replay(t, saved_irqs);
    }
    return;
  }
  v->current.store(next, std::memory_order_relaxed);
  // The model-induced delay runs from next's own wakeup request, not from
  // when a flag was first set on the current task: under LAZY a fair
  // wakeup's LAZY flag (or the tick's promotion of it) may precede an RT
  // wakeup that the same switch serves.
  const int64_t wake_stamp = next->wake_req_ns;
  const int64_t wake_stolen = next->wake_req_stolen_ns;
  next->wake_req_ns = 0;
  const int64_t switch_ns = sys::now_ns();
  if (!blocking && !t->is_idle) t->runnable_ns = switch_ns;
  if (next->runnable_ns != 0) {
    next->wait_ns += switch_ns - next->runnable_ns;
    next->runnable_ns = 0;
  }
  v->rq_lock.unlock();

  // Accounting, while this task still owns the vCPU.
  const int64_t now = sys::now_ns();
  VcpuStats& st = v->stats;
  ++st.dispatches;
  SwitchCause cause;
  if (kind == SwitchKind::kIdle) {
    cause = SwitchCause::kIdle;
    ++st.idle_exits;
  } else if (kind == SwitchKind::kExit) {
    cause = SwitchCause::kExit;
    ++st.ctx_voluntary;
  } else if (blocking) {
    cause = SwitchCause::kBlock;
    ++st.ctx_voluntary;
    ++t->blocked;
  } else {
    cause = SwitchCause::kPreempt;
    ++st.ctx_involuntary;
    ++st.preemptions[point_index(p)];
    ++t->preempted;
    ++t->preempted_at[point_index(p)];
    // Model-induced: the host's stalls inside the window are its cost, not
    // the model's (they are reported as host_stolen_ns).
    if (wake_stamp != 0 && next->delay_hist) {
      const int64_t stolen = v->host_stolen_ns.load(std::memory_order_relaxed) - wake_stolen;
      next->delay_hist->record(std::max<int64_t>(0, now - wake_stamp - stolen));
    }
  }
  trace_dispatch(v, next, t->is_idle ? nullptr : t, cause, p);
  acct_switch(v, acct_state_of(next));
  t->parked_ns = now;
  if (!t->is_idle) t->runtime_ns += now - t->picked_ns;
  next->picked_ns = now;
  v->heartbeat.store(v->heartbeat.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  // Keep this task's timer armed while parked when there is room in the set
  // (Config::parked_armed_timers): if it is dispatched again before the
  // expiry, neither the disarm nor the re-arm is needed.
  // A sleeper under direct wakeup waits for its own expiry on its gate
  // (park_until_dispatched()); its timer is disarmed, so that expiry costs
  // it no signal.
  const int64_t direct_sleep =
      blocking && t->ex->host_fifo ? t->direct_sleep_ns.load(std::memory_order_relaxed) : 0;
  bool keep_armed = false;
  if (kind != SwitchKind::kExit && direct_sleep == 0 && t->armed_ns != 0 &&
      t->armed_ns == arm_target(t, v) && t->armed_ns > now &&
      v->n_parked_armed < v->max_parked_armed) {
    v->parked_armed[static_cast<size_t>(v->n_parked_armed++)] = t;
    t->parked_armed = true;
    keep_armed = true;
  }
  t->oncpu.store(false, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);

  // Dispatch: open next's gate. From here on this thread touches nothing of
  // the vCPU: next may already be running (on the host it preempts us when
  // its priority is higher).
  next->gate.store(1, std::memory_order_release);
  sys::futex_wake(&next->gate, 1);
  // An idle task claimed in its idle wait (kIdleWaiting) sleeps on idle_seq,
  // not on its gate (idle_loop()); the claim bumped idle_seq.
  if (next->is_idle && (next->handler_state.load(std::memory_order_acquire) & kIdleWaiting) != 0) {
    sys::futex_wake(&v->idle_seq, INT_MAX);
  }
  if (kind == SwitchKind::kExit) {
    host_class_exited(t);
    return;
  }
  if (!keep_armed) timer_disarm(t);
  if (off_cpu != nullptr) off_cpu(t, off_cpu_arg);
  // (The vCPU's current task stays armed for the vCPU's next expiry, so the
  // wakeup is never lost when the direct path declines.)
  park_until_dispatched(t, direct_sleep);
  on_dispatched(t);
  if (from_irq) {
    irq_restore_noreplay(t, saved_irqs);
  } else {
    irq_restore_replay(t, saved_irqs);
  }
}

void dispatch_first(Vcpu* v) noexcept {
  v->rq_lock.lock();
  Task* next = v->rq.pick(task_clock_locked(v));
  if (next == nullptr) next = v->idle;
  v->current.store(next, std::memory_order_relaxed);
  v->rq_lock.unlock();
  next->picked_ns = sys::now_ns();
  v->acct_stamp = cycleclock::ticks();
  v->acct_state = acct_state_of(next);
  trace_dispatch(v, next, nullptr, SwitchCause::kStart, Point::kSchedule);
  ++v->stats.dispatches;
}

// --- preemption points -------------------------------------------------------------------------

void preempt_point(TaskHot* h, Point p) noexcept {
  Task* t = to_task(h);
  if (stopping(t)) return;
  const Decision d = decide(t->ex->cfg.model, p, context_of(t));
  record_decision(t->v, p, d);
  if (d.switch_now) schedule_core(t, p, SwitchKind::kPreempt, false);
}

void bh_disable_rt(TaskHot* h) noexcept {
  Task* t = to_task(h);
  const PreemptCount c = t->preempt_count.load(std::memory_order_relaxed);
  // __local_bh_disable_ip() on RT: the first entry, when preemptible,
  // migrate_disable() (a no-op: tasks are pinned) and rcu_read_lock().
  if (bh_disable_enters_rcu(t->ex->cfg.model, softirq_count(c) == 0,
                            preemptible(c, t->irqs_disabled.load() != 0, t->ex->cfg.model))) {
    ++t->rcu_depth;
    t->bh_rcu = true;
  }
}

void bh_enable_slow(TaskHot* h) noexcept {
  Task* t = to_task(h);
  if (stopping(t)) return;
  // __local_bh_enable_ip(): pending softirqs where bh_enable_softirqs() says
  // (off RT: unless in interrupt; RT: at the end of the section, inline if
  // preemptible, else ksoftirqd), then preempt_check_resched(). On RT the
  // end of the section leaves its RCU read-side section.
  const PreemptCount c = t->preempt_count.load(std::memory_order_relaxed);
  const BhEnableSoftirqs soft =
      bh_enable_softirqs(t->ex->cfg.model, c, t->irqs_disabled.load() != 0,
                         t->softirq_pending->load(std::memory_order_relaxed) != 0);
  if (t->bh_rcu && softirq_count(c) == 0) {
    --t->rcu_depth;
    t->bh_rcu = false;
  }
  if (soft == BhEnableSoftirqs::kInline) {
    ++t->v->stats.softirq_at_bh_enable;
    run_softirqs(t);
  } else if (soft == BhEnableSoftirqs::kWakeKsoftirqd) {
    wakeup_softirqd(t, t->v);
  }
  preempt_point(h, Point::kPreemptEnable);
}

void irq_replay(TaskHot* h) noexcept {
  Task* t = to_task(h);
  if (stopping(t)) return;
  irq_loop(t, true);
}

// schedule() on block: the debug check, then decide() (which always says
// switch for kSchedule) and the switch.
void schedule_block(Task* t, OffCpuHook off_cpu, void* arg, bool rtlock_wait) noexcept {
  if (stopping(t)) return;
  const Model m = t->ex->cfg.model;
  const PreemptCount c = t->preempt_count.load(std::memory_order_relaxed);
  if (schedule_while_atomic(c, m)) {
    ++t->v->stats.schedule_while_atomic_bugs;
    char buf[128];
    std::snprintf(buf, sizeof(buf), "BUG: scheduling while atomic: %s/%d/0x%08x\n", t->name,
                  static_cast<int>(t->tid), static_cast<unsigned>(c));
    debug_report(t, buf);
  }
  // rcu_note_context_switch(): a wait for an RT spinlock_t is
  // __schedule(SM_RTLOCK_WAIT), counted as a preemption (no warning).
  if (!rtlock_wait && voluntary_switch_in_rcu_reader(t->rcu_depth)) {
    ++t->v->stats.rcu_voluntary_switch_warnings;
    debug_report(t, "Voluntary context switch within RCU read-side critical section!\n");
  }
  const Decision d = decide(m, Point::kSchedule, context_of(t));
  record_decision(t->v, Point::kSchedule, d);
  if (d.switch_now) schedule_core(t, Point::kSchedule, SwitchKind::kBlock, false, off_cpu, arg);
}

// __might_resched()/__might_sleep(): the kernel's report, counted.
void might_sleep_check(Task* t, const std::source_location& loc) noexcept {
  const Model m = t->ex->cfg.model;
  const PreemptCount c = t->preempt_count.load(std::memory_order_relaxed);
  const bool irqs = t->irqs_disabled.load(std::memory_order_relaxed) != 0;
  if (!might_sleep_is_bug(c, irqs, m, t->rcu_depth)) return;
  ++t->v->stats.might_sleep_bugs;
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "BUG: sleeping function called from invalid context at %s:%u\n"
                "in_atomic(): %d, irqs_disabled(): %d, non_block: 0, pid: %d, name: %s\n"
                "preempt_count: %x, expected: 0\n",
                loc.file_name(), static_cast<unsigned>(loc.line()), in_atomic(c, m) ? 1 : 0,
                irqs ? 1 : 0, static_cast<int>(t->tid), t->name,
                static_cast<unsigned>(kernel_preempt_count(c, m)));
  debug_report(t, buf);
}

namespace {

// Blocking calls from user mode are system calls.
struct SyscallScope {
  explicit SyscallScope(Task* task) noexcept : t(task), was_user(task->mode == Mode::kUser) {
    if (was_user) TaskApi(t).kernel_enter();
  }
  ~SyscallScope() {
    if (was_user) TaskApi(t).kernel_exit();
  }
  Task* t;
  bool was_user;
};

bool wait_completion_locked_loop(Task* t, Completion& c) noexcept {
  for (;;) {
    const uint32_t irqs = irq_save(t);
    CompletionAccess::lock(c);
    if (stopping(t)) {
      if (t->wq_queued) wq_remove(c, t);
      CompletionAccess::unlock(c);
      irq_restore_noreplay(t, irqs);
      set_state_running(t);
      return false;
    }
    uint32_t& done = CompletionAccess::done(c);
    if (done > 0) {
      --done;
      if (t->wq_queued) wq_remove(c, t);
      CompletionAccess::unlock(c);
      irq_restore_replay(t, irqs);
      set_state_running(t);
      return true;
    }
    if (!t->wq_queued) wq_append(c, t);
    set_state_blocked(t);
    CompletionAccess::unlock(c);
    irq_restore_replay(t, irqs);
    schedule_block(t);
  }
}

void sleep_timer_fn(Hrtimer* h, Task* curr) { try_to_wake_up(curr, h->task); }

}  // namespace

void complete_noresched(Task* waker, Completion& c) noexcept {
  const uint32_t irqs = irq_save(waker);
  CompletionAccess::lock(c);
  ++CompletionAccess::done(c);
  Task* w = wq_pop(c);
  CompletionAccess::unlock(c);
  irq_restore_noreplay(waker, irqs);
  if (w != nullptr) try_to_wake_up(waker, w);
}

void set_state_blocked(Task* t) noexcept {
  const uint32_t irqs = irq_save(t);
  t->v->rq_lock.lock();
  t->state = TaskState::kBlocked;
  t->v->rq_lock.unlock();
  irq_restore_noreplay(t, irqs);
}

void set_state_running(Task* t) noexcept {
  const uint32_t irqs = irq_save(t);
  t->v->rq_lock.lock();
  t->state = TaskState::kRunning;
  t->v->rq_lock.unlock();
  irq_restore_noreplay(t, irqs);
}

// --- wakeups
// ---------------------------------------------------------------------------------------

void send_ipi(Task* sender, Vcpu* target, Task* target_curr) noexcept {
  VcpuStats& st = sender->v->stats;
  target->irq_pending.fetch_or(kIrqIpi, std::memory_order_seq_cst);
  if (target->ipi_pending.exchange(1, std::memory_order_seq_cst) != 0) {
    ++st.ipis_coalesced;
    return;
  }
  ++st.ipis_sent;
  target->ipi_sent_ns.store(sys::now_ns(), std::memory_order_relaxed);
  if (sys::tgkill(target_curr->tid, ipi_signal()) < 0) {
    // The target thread is gone (it exited after the pick we read): the
    // next dispatch there sees the runqueue and clears ipi_pending.
    target->ipi_pending.store(0, std::memory_order_seq_cst);
  }
}

namespace {

// ttwu_do_activate() and wakeup_preempt() under p's rq lock: p runnable,
// the policy's reschedule request on the vCPU's current task. Returns that
// task (or null) and whether an IPI is due.
Task* activate_locked(Task* p, bool remote, bool* ipi) noexcept {
  Vcpu* tv = p->v;
  p->state = TaskState::kRunning;
  Task* curr = tv->current.load(std::memory_order_relaxed);
  *ipi = false;
  if (p->on_rq || p == curr) return curr;
  const int64_t clock = task_clock_locked(tv);
  p->runnable_ns = sys::now_ns();
  tv->rq.activate(p, clock, FairEnqueue::kWakeup);
  if (curr == nullptr) return curr;
  const uint32_t f = curr->resched.load(std::memory_order_relaxed);
  Wakeup w;
  w.curr = curr->is_idle ? TaskClass{SchedClass::kIdle, 0} : class_of(curr);
  w.wakee = class_of(p);
  w.remote = remote;
  w.curr_flags = ReschedFlags{(f & kReschedFull) != 0, (f & kReschedLazy) != 0};
  // Fair vs fair: check_preempt_wakeup_fair() decides (EEVDF, fair.h).
  if (w.curr.sched_class == SchedClass::kFair && w.wakee.sched_class == SchedClass::kFair) {
    w.fair_wakee_wins = tv->rq.fair().wakeup_preempt(&p->se, clock, w.curr_flags.need_resched);
  }
  // update_curr() on the way may have found curr's request used up.
  const bool curr_expired = tv->rq.fair().take_resched() && !w.fair_wakee_wins;
  const WakeupAction a = on_wakeup(p->ex->cfg.model, w);
  p->wake_req_ns = a.requested != Resched::kNone ? sys::now_ns() : 0;
  p->wake_req_stolen_ns = tv->host_stolen_ns.load(std::memory_order_relaxed);
  if (a.requested != Resched::kNone) {
    const ReschedAction done = resched_locked(curr, a.requested, remote);
    *ipi = done.ipi;
  }
  if (curr_expired && w.curr.sched_class == SchedClass::kFair) {
    const ReschedAction done =
        resched_locked(curr, resched_curr_lazy_flag(p->ex->cfg.model), remote);
    *ipi = *ipi || done.ipi;
  }
  return curr;
}

}  // namespace

bool try_to_wake_up(Task* waker, Task* p) noexcept {
  Vcpu* tv = p->v;
  const bool remote = waker->v != tv;
  const uint32_t irqs = irq_save(waker);
  tv->rq_lock.lock();
  if (p->state != TaskState::kBlocked) {
    tv->rq_lock.unlock();
    irq_restore_noreplay(waker, irqs);
    return false;
  }
  bool ipi = false;
  Task* curr = activate_locked(p, remote, &ipi);
  tv->rq_lock.unlock();
  irq_restore_noreplay(waker, irqs);
  if (remote) {
    ++waker->v->stats.wakeups_remote;
  } else {
    ++waker->v->stats.wakeups_local;
  }
  if (ipi) send_ipi(waker, tv, curr);
  return true;
}

bool wake_from_host(Task* p) noexcept {
  // p's thread is off the CPU: its signal handler only forwards (it takes
  // no lock), so the rq lock may be taken with interrupts as they are.
  Vcpu* tv = p->v;
  tv->rq_lock.lock();
  if (p->state != TaskState::kBlocked) {
    tv->rq_lock.unlock();
    return false;
  }
  bool ipi = false;
  Task* curr = activate_locked(p, true, &ipi);
  tv->rq_lock.unlock();
  if (ipi && curr != nullptr) {
    // send_ipi() without the sender's (oncpu) counters.
    tv->irq_pending.fetch_or(kIrqIpi, std::memory_order_seq_cst);
    if (tv->ipi_pending.exchange(1, std::memory_order_seq_cst) == 0) {
      tv->ipi_sent_ns.store(sys::now_ns(), std::memory_order_relaxed);
      if (sys::tgkill(curr->tid, ipi_signal()) < 0)
        tv->ipi_pending.store(0, std::memory_order_seq_cst);
    }
  }
  return true;
}

// --- direct preemption (Config::direct_wakeup; DESIGN.md, "Direct preemption") -------------
//
// Runs on the thread of a sleeping task B when its gate wait timed out at
// its hrtimer's expiry (park_until_dispatched()). All of a vCPU's threads
// are pinned to one host CPU, so while B's thread runs, the current task A's
// thread does not: its emulated state is what it was at some instruction,
// exactly what A's own handler would see if the interrupt landed there. B
// carries out what that handler would do: the timer interrupt (B's hrtimer,
// nothing else due), the wakeup, the irq-exit decision, and the switch, with
// A's bookkeeping done on A's behalf. A is then held off its own code by the
// doorbell signal, sent before A is claimed: the host delivers it before A
// runs another instruction of its own, and A's handler parks
// (direct_park()). Every precondition is checked under the rq lock, taken
// with try_lock (A may be stopped holding it); any that fails leaves the
// wakeup to A's timer interrupt (A's timer is armed for the vCPU's next
// expiry, which this one is). B's own signal handler takes no lock while B
// is off the CPU, so B may hold the rq lock here with its signals open.
bool direct_wakeup(Task* b) noexcept {
  // A stopping run (stop(), a watchdog trip) demotes the threads one by one
  // and lets them run: A may then take the doorbell without parking (its
  // handler returns early when stopping), so nothing is claimed any more;
  // stop() wakes every gate.
  if (stopping(b)) return false;
  const int64_t now = sys::now_ns();
  Vcpu* v = b->v;
  ExecState* ex = b->ex;
  // Declining, B rings the current task with the timer signal: the idle
  // task's timer is not armed for B's expiry (update_programmed_locked()).
  // For any other current task it is a duplicate, which the clock makes
  // harmless (counted spurious); one aimed at a task leaving the CPU is
  // forwarded.
  auto fallback = [b, v](DirectFallback r) {
    b->direct_fallbacks[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
    Task* curr = v->current.load(std::memory_order_seq_cst);
    if (curr != nullptr && curr != b) sys::tgkill(curr->tid, tick_signal());
    return false;
  };
  if (!v->rq_lock.try_lock()) return fallback(DirectFallback::kRqLockBusy);
  auto unlock_fallback = [&](DirectFallback r) {
    v->rq_lock.unlock();
    return fallback(r);
  };
  // Still asleep on that timer (the current task's interrupt may have woken
  // it), and switched out by its sleep (not preempted on the way to it).
  if (b->state != TaskState::kBlocked || b->on_rq || b->sleep_timer.heap_index < 0 ||
      b->sleep_timer.fn != &sleep_timer_fn || b->sleep_timer.expires > now) {
    v->rq_lock.unlock();
    return false;
  }
  Task* a = v->current.load(std::memory_order_relaxed);
  if (a == nullptr || a == b) return unlock_fallback(DirectFallback::kCurrentBusy);
  // The idle task dispatched but not yet run by the host (it competes there
  // with the host's other SCHED_OTHER work) is still inside its switch, on
  // its way back to the idle loop, which would switch to B at once: B takes
  // the dispatch back (its gate, 1 -> 0) instead of waiting for it to run.
  bool undispatch = false;
  if (!a->oncpu.load(std::memory_order_relaxed)) {
    if (!a->is_idle || a->gate.load(std::memory_order_acquire) != 1) {
      return unlock_fallback(DirectFallback::kCurrentBusy);
    }
    undispatch = true;
  } else if (a->irqs_disabled.load(std::memory_order_relaxed) != 0 ||
             (a->handler_state.load(std::memory_order_acquire) & ~kIdleWaiting) != 0 ||
             a->irq_depth != 0) {
    // irq_depth: A inside irq_loop() in task context (a replay at
    // local_irq_enable()), which takes the pending bits before it sets
    // irqs_disabled; claimed there, A would keep those bits until its next
    // dispatch. (A is stopped by the host while B runs: a plain read.)
    return unlock_fallback(DirectFallback::kCurrentBusy);
  }
  // The host must run B strictly above A for as long as this takes. Class
  // changes are decided under this lock (host_want), so a pending one shows
  // as want != applied.
  const int hb = b->host_applied.load(std::memory_order_relaxed);
  const int ha = a->host_applied.load(std::memory_order_relaxed);
  if (!ex->host_fifo || ex->host_rt_off.load(std::memory_order_seq_cst) != 0 ||
      hb != b->host_want.load(std::memory_order_relaxed) ||
      ha != a->host_want.load(std::memory_order_relaxed) || ha < kHostOther || hb <= ha ||
      a->host_apply.load(std::memory_order_acquire) != 0) {
    return unlock_fallback(DirectFallback::kHostOrder);
  }
  // The interrupt would do nothing but this wakeup and maybe a tick (run
  // below on A, as the timer interrupt runs it before the hrtimers).
  if (v->softirq_pending.load(std::memory_order_relaxed) != 0 ||
      (v->irq_pending.load(std::memory_order_seq_cst) & ~kIrqTimer) != 0 ||
      v->timers.top() != &b->sleep_timer || v->timers.second_expires() <= now) {
    return unlock_fallback(DirectFallback::kIrqWork);
  }
  // The policy's answer at A's irq exit.
  const Model m = ex->cfg.model;
  const PreemptCount count = a->preempt_count.load(std::memory_order_relaxed);
  const uint32_t f = a->resched.load(std::memory_order_relaxed);
  Wakeup w;
  w.curr = a->is_idle ? TaskClass{SchedClass::kIdle, 0} : class_of(a);
  w.wakee = class_of(b);
  w.curr_flags = ReschedFlags{(f & kReschedFull) != 0, (f & kReschedLazy) != 0};
  const IrqExitSwitch sw = wakeup_switch_at_irq_exit(m, w, count, a->mode == Mode::kUser);
  if (w.wakee.sched_class != SchedClass::kRt || !sw.switch_now) {
    return unlock_fallback(DirectFallback::kModel);
  }
  // pick_next_task() must return B: nothing queued at its priority or above.
  if (v->rq.top_rt_prio() >= b->cls.rt_priority) return unlock_fallback(DirectFallback::kNotPicked);
  // Hold A off its own code, then claim it. A's handler bumps handler_state
  // first thing, so the claim fails iff A is inside a handler (then A takes
  // the doorbell there, harmlessly, after this path has let go).
  if (undispatch) {
    uint32_t dispatched = 1;
    if (!a->gate.compare_exchange_strong(dispatched, 0, std::memory_order_acq_rel)) {
      return unlock_fallback(DirectFallback::kRace);  // it is passing its gate now
    }
  } else {
    // The idle thread asleep in its idle wait (kIdleWaiting alone: no
    // handler frame, no claim) runs none of its own code until it is woken,
    // and nothing here wakes it: the claim alone holds it off, and its idle
    // loop parks when it returns from the wait (idle_loop()). Losing the
    // compare-exchange (it left the wait, or a signal reached it) falls back
    // to the doorbell.
    uint32_t waiting = kIdleWaiting;
    if (a->is_idle && a->handler_state.compare_exchange_strong(
                          waiting, kIdleWaiting | kTakenDirectly, std::memory_order_acq_rel)) {
      ++v->stats.direct_idle_claims;
    } else {
      if (sys::tgkill(a->tid, forward_signal()) < 0) {
        return unlock_fallback(DirectFallback::kRace);
      }
      uint32_t zero = 0;
      if (!a->handler_state.compare_exchange_strong(zero, kTakenDirectly,
                                                    std::memory_order_acq_rel)) {
        return unlock_fallback(DirectFallback::kRace);
      }
    }
  }

  // The timer interrupt on A: the tick if due (it only adds flags to A, so
  // the decision above stands), B's hrtimer expires, try_to_wake_up(B).
  VcpuStats& st = v->stats;
  v->irq_pending.fetch_and(~kIrqTimer, std::memory_order_seq_cst);
  if (now >= v->next_tick_ns) tick_locked(a, v, now, now);
  v->timers.remove(&b->sleep_timer);
  update_programmed_locked(v);
  ++st.hrtimers_expired;
  ++st.irq_timer;
  bool ipi = false;
  activate_locked(b, false, &ipi);
  ++st.wakeups_local;
  ++st.decisions[point_index(sw.exit_point)][reason_index(sw.exit_decision.reason)];
  // Parked tasks armed for an expiry that has passed leave the set (as the
  // timer interrupt does).
  for (int i = 0; i < v->n_parked_armed;) {
    Task* p = v->parked_armed[static_cast<size_t>(i)];
    if (p->armed_ns <= now) {
      p->parked_armed = false;
      v->parked_armed[static_cast<size_t>(i)] =
          v->parked_armed[static_cast<size_t>(--v->n_parked_armed)];
    } else {
      ++i;
    }
  }

  // schedule_core() of A, on A's behalf: A stays runnable (the head of its
  // list), B is picked, both of A's flags are cleared.
  const int64_t clock = task_clock_locked(v);
  if (!a->is_idle) v->rq.requeue_prev(a, !a->requeue_tail);
  Task* next = v->rq.pick(clock);
  // (top_rt_prio() above: next == b.)
  a->resched.store(0, std::memory_order_relaxed);
  a->requeue_tail = false;
  v->current.store(next, std::memory_order_relaxed);
  const int64_t wake_stamp = next->wake_req_ns;
  const int64_t wake_stolen = next->wake_req_stolen_ns;
  next->wake_req_ns = 0;
  const int64_t sw_ns = sys::now_ns();
  if (!a->is_idle) a->runnable_ns = sw_ns;
  if (next->runnable_ns != 0) {
    next->wait_ns += sw_ns - next->runnable_ns;
    next->runnable_ns = 0;
  }
  ++st.dispatches;
  ++st.direct_preemptions;
  SwitchCause cause;
  if (a->is_idle) {
    cause = SwitchCause::kIdle;
    ++st.idle_exits;
    if (next != v->idle) v->idle_seq.fetch_add(1, std::memory_order_release);
  } else {
    cause = SwitchCause::kPreempt;
    ++st.ctx_involuntary;
    ++st.preemptions[point_index(sw.point)];
    ++a->preempted;
    ++a->preempted_at[point_index(sw.point)];
    if (wake_stamp != 0 && next->delay_hist) {
      const int64_t stolen = v->host_stolen_ns.load(std::memory_order_relaxed) - wake_stolen;
      next->delay_hist->record(std::max<int64_t>(0, sw_ns - wake_stamp - stolen));
    }
  }
  trace_dispatch(v, next, a->is_idle ? nullptr : a, cause, sw.point);
  acct_switch(v, acct_state_of(next));
  a->parked_ns = sw_ns;
  if (!a->is_idle) a->runtime_ns += sw_ns - a->picked_ns;
  next->picked_ns = sw_ns;
  v->heartbeat.store(v->heartbeat.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  a->oncpu.store(false, std::memory_order_relaxed);
  // B's own gate: its thread leaves park_until_dispatched() when this
  // handler returns and runs the dispatch epilogue (on_dispatched()).
  next->gate.store(1, std::memory_order_release);
  v->rq_lock.unlock();
  // B's time since its expiry woke it was the interrupt's on A: not A's work
  // (compute()), not the fair clock's.
  v->handler_ns.fetch_add(sw_ns - now, std::memory_order_relaxed);
  return true;
}

namespace {

// Switched out at sw_ns by a wakee's thread: this task's timer, armed for the
// expiry that woke it, has fired; one armed for later is disarmed. Then it
// waits for its next dispatch and runs the dispatch epilogue.
void park_taken(Task* t) noexcept {
  if (t->armed_ns != 0) {
    if (t->armed_ns > sys::now_ns()) {
      timer_disarm(t);
    } else {
      t->armed_ns = 0;
    }
  }
  park_until_dispatched(t);
  on_dispatched(t);
}

}  // namespace

void direct_park(Task* t) noexcept {
  park_taken(t);
  t->handler_state.fetch_and(~kTakenDirectly, std::memory_order_acq_rel);
}

// --- the idle task and the task thread's life ----------------------------------------------

void idle_loop(Task* t) noexcept {
  Vcpu* v = t->v;
  const bool direct = t->ex->cfg.direct_wakeup;
  for (;;) {
    if (stopping(t)) return;
    const uint32_t seq = v->idle_seq.load(std::memory_order_acquire);
    if (t->resched.load(std::memory_order_seq_cst) != 0) {
      schedule_core(t, Point::kSchedule, SwitchKind::kIdle, false);
      continue;
    }
    // An interrupt on the idle task bumps idle_seq, so a wakeup between the
    // check above and this wait is not lost.
    if (!direct) {
      sys::futex_wait(&v->idle_seq, seq);
      continue;
    }
    // Direct wakeups: announce the wait, so that a wakee may claim this task
    // without ringing it (direct_wakeup()). A claim bumps idle_seq, so one
    // landing before the wait makes it return at once. Leaving, both bits
    // are cleared in one step: when the claim was there this loop owns it
    // and parks; when not, a later claim needs the doorbell. A signal taken
    // while claimed and still announced parks inside its handler instead
    // (direct_park() clears the claim), so exactly one of them parks.
    t->handler_state.fetch_or(kIdleWaiting, std::memory_order_seq_cst);
    sys::futex_wait(&v->idle_seq, seq);
    const uint32_t was =
        t->handler_state.fetch_and(~(kIdleWaiting | kTakenDirectly), std::memory_order_acq_rel);
    if ((was & kTakenDirectly) != 0) {
      // As a switch parks (schedule_core()): IRQs soft-off while off the
      // CPU, and the interrupts left for this dispatch replayed after it.
      const uint32_t irqs = irq_save(t);
      park_taken(t);
      irq_restore_replay(t, irqs);
    }
  }
}

void task_main_loop(Task* t) noexcept {
  if (stopping(t)) return;
  TaskApi api(t);
  if (t->state == TaskState::kBlocked) {
    // Created blocked: dispatched by a wake(); consume its token.
    Completion& c = t->wake_token;
    const uint32_t irqs = irq_save(t);
    CompletionAccess::lock(c);
    if (CompletionAccess::done(c) > 0) --CompletionAccess::done(c);
    if (t->wq_queued) wq_remove(c, t);
    CompletionAccess::unlock(c);
    irq_restore_replay(t, irqs);
  }
  if (t->body) t->body(api);
  if (stopping(t)) return;
  // do_exit(): the last schedule().
  schedule_core(t, Point::kSchedule, SwitchKind::kExit, false);
}

}  // namespace detail

// --- TaskApi
// ---------------------------------------------------------------------------------------

using detail::Task;
using detail::to_task;

TaskId TaskApi::id() const noexcept { return to_task(t_)->id; }
int TaskApi::vcpu() const noexcept { return to_task(t_)->v->index; }
std::string_view TaskApi::name() const noexcept { return to_task(t_)->name; }
Model TaskApi::model() const noexcept { return to_task(t_)->ex->cfg.model; }
bool TaskApi::running() const noexcept { return !detail::stopping(to_task(t_)); }
bool TaskApi::aborted() const noexcept {
  return to_task(t_)->ex->aborted.load(std::memory_order_relaxed) != 0;
}
void TaskApi::request_stop() noexcept { detail::request_stop(to_task(t_)->ex); }
bool TaskApi::in_user_mode() const noexcept { return to_task(t_)->mode == detail::Mode::kUser; }
int64_t TaskApi::now_ns() const noexcept { return sys::now_ns(); }
uint64_t TaskApi::vcpu_ticks() const noexcept { return to_task(t_)->v->stats.ticks; }

void TaskApi::cond_resched(std::source_location loc) noexcept {
  Task* t = to_task(t_);
  if (detail::stopping(t)) return;
  detail::might_sleep_check(t, loc);
  detail::preempt_point(t_, Point::kCondResched);
}

void TaskApi::might_sleep(std::source_location loc) noexcept {
  Task* t = to_task(t_);
  if (detail::stopping(t)) return;
  detail::might_sleep_check(t, loc);
  detail::preempt_point(t_, Point::kMightResched);
}

void TaskApi::might_resched() noexcept { detail::preempt_point(t_, Point::kMightResched); }

void TaskApi::kernel_enter() noexcept {
  Task* t = to_task(t_);
  t->mode = detail::Mode::kKernel;
  if (!detail::stopping(t)) detail::acct_switch(t->v, detail::kAcctKernel);
}

void TaskApi::kernel_exit() noexcept {
  Task* t = to_task(t_);
  if (detail::stopping(t)) {
    t->mode = detail::Mode::kUser;
    return;
  }
  // Debug checks at the boundary: a leaked count (reported and reset, as
  // __schedule_bug() resets it) and, with lockdep, locks still held.
  const PreemptCount c = t->preempt_count.load(std::memory_order_relaxed);
  if ((c & (kPreemptMask | kSoftirqMask)) != 0) {
    ++t->v->stats.preempt_leaks;
    char buf[160];
    std::snprintf(buf, sizeof(buf),
                  "BUG: %s/%d returning to user space with preempt_count 0x%08x (leak)\n", t->name,
                  static_cast<int>(t->tid), static_cast<unsigned>(c));
    detail::debug_report(t, buf);
    t->preempt_count.store(c & ~(kPreemptMask | kSoftirqMask), std::memory_order_relaxed);
    if (t->track_windows != 0) detail::window_end(t, detail::kPreemptOffWindow);
  }
  detail::lockdep_user_return(t);
  // exit_to_user_mode_loop(): IRQs off, schedule while the policy says so,
  // then user mode; pending interrupts are taken on the way out.
  const uint32_t irqs = detail::irq_save(t);
  for (;;) {
    const Decision d = decide(t->ex->cfg.model, Point::kReturnToUser, detail::context_of(t));
    detail::record_decision(t->v, Point::kReturnToUser, d);
    if (!d.switch_now || detail::stopping(t)) break;
    detail::schedule_core(t, Point::kReturnToUser, detail::SwitchKind::kPreempt, true);
  }
  t->mode = detail::Mode::kUser;
  if (!detail::stopping(t)) detail::acct_switch(t->v, detail::kAcctUser);
  detail::irq_restore_replay(t, irqs);
}

bool TaskApi::block() noexcept {
  Task* t = to_task(t_);
  if (detail::stopping(t)) return false;
  detail::SyscallScope sc(t);
  return detail::wait_completion_locked_loop(t, t->wake_token);
}

void TaskApi::wake(TaskId id) noexcept {
  Task* t = to_task(t_);
  if (detail::stopping(t)) return;
  if (id < 0 || static_cast<size_t>(id) >= t->ex->tasks.size()) return;
  complete(t->ex->tasks[static_cast<size_t>(id)]->wake_token);
}

bool TaskApi::wait_for_completion(Completion& c) noexcept {
  Task* t = to_task(t_);
  if (detail::stopping(t)) return false;
  detail::SyscallScope sc(t);
  might_sleep();
  return detail::wait_completion_locked_loop(t, c);
}

void TaskApi::complete(Completion& c) noexcept {
  Task* t = to_task(t_);
  if (detail::stopping(t)) return;
  // try_to_wake_up() runs under guard(preempt)(): its preempt_enable() is the
  // point where a local wakee preempts (FULL, LAZY on the full flag, RT).
  preempt_disable();
  detail::complete_noresched(t, c);
  preempt_enable();
}

bool TaskApi::sleep_until(int64_t abs_ns) noexcept {
  Task* t = to_task(t_);
  if (detail::stopping(t)) return false;
  detail::SyscallScope sc(t);
  // hrtimer_nanosleep() -> do_nanosleep(), like msleep() ->
  // schedule_timeout(): no might_sleep() on the way to schedule(); a sleep
  // in atomic context is reported by schedule() itself.
  detail::Vcpu* v = t->v;
  const uint32_t irqs = detail::irq_save(t);
  v->rq_lock.lock();
  t->state = detail::TaskState::kBlocked;
  t->sleep_timer.fn = &detail::sleep_timer_fn;
  t->sleep_timer.task = t;
  // Direct as schedule_core() parks it (an RT task's thread at host
  // SCHED_FIFO waits for its own expiry): see update_programmed_locked().
  t->sleep_timer.direct =
      t->ex->cfg.direct_wakeup && t->ex->host_fifo && t->base_cls.sched_class == SchedClass::kRt;
  detail::hrtimer_start_locked(t, &t->sleep_timer, abs_ns);
  v->rq_lock.unlock();
  detail::irq_restore_replay(t, irqs);
  // Only a direct sleeper (an RT task at host SCHED_FIFO) waits for its own
  // expiry: a fair sleeper's SCHED_OTHER thread would wake to decline.
  if (t->sleep_timer.direct) t->direct_sleep_ns.store(abs_ns, std::memory_order_relaxed);
  detail::schedule_block(t);
  t->direct_sleep_ns.store(0, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  const uint32_t irqs2 = detail::irq_save(t);
  v->rq_lock.lock();
  if (t->sleep_timer.heap_index >= 0) detail::hrtimer_cancel_locked(v, &t->sleep_timer);
  t->state = detail::TaskState::kRunning;
  v->rq_lock.unlock();
  detail::irq_restore_replay(t, irqs2);
  return !detail::stopping(t);
}

bool TaskApi::sleep_ns(int64_t ns) noexcept { return sleep_until(sys::now_ns() + ns); }

bool TaskApi::wait_next_period() noexcept {
  Task* t = to_task(t_);
  if (detail::stopping(t) || t->period_ns <= 0) return false;
  if (t->next_release_ns == 0) {
    t->next_release_ns = t->ex->start_ns + t->phase_ns + t->period_ns;
  } else {
    t->next_release_ns += t->period_ns;
  }
  ++t->periods;
  const int64_t release = t->next_release_ns;
  if (release <= sys::now_ns()) {
    ++t->overruns;
  } else if (!sleep_until(release)) {
    return false;
  }
  if (t->wakeup_hist) t->wakeup_hist->record(sys::now_ns() - release);
  return !detail::stopping(t);
}

int64_t TaskApi::release_ns() const noexcept { return to_task(t_)->next_release_ns; }

namespace {

// What compute() reads at each step: the clock, the task's time switched
// out and its vCPU's interrupt-handler time.
struct ComputeClock {
  int64_t now, off, handler;
};

// The three as one snapshot. An interrupt (a signal handler on this thread,
// which may switch the task out and back in) that lands between the clock
// read and the totals' reads would put its time into the totals but not into
// `now`, and the next step would count all of it as a host stall (measured:
// a third of a FULL vCPU's time at kernel-path load 1 was reported stolen).
// Totals that moved across the clock read mean an interrupt landed there:
// read again.
ComputeClock compute_clock(const Task* t, const detail::Vcpu* v) noexcept {
  for (;;) {
    // The fences keep the three reads in this order against this thread's
    // signal handlers, whatever the compiler can see of now_ns().
    std::atomic_signal_fence(std::memory_order_seq_cst);
    const int64_t off = t->offcpu_ns.load(std::memory_order_relaxed);
    const int64_t handler = v->handler_ns.load(std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    const int64_t now = sys::now_ns();
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (t->offcpu_ns.load(std::memory_order_relaxed) == off &&
        v->handler_ns.load(std::memory_order_relaxed) == handler) {
      return {now, off, handler};
    }
  }
}

}  // namespace

void TaskApi::compute(int64_t ns) noexcept {
  Task* t = to_task(t_);
  detail::Vcpu* v = t->v;
  ComputeClock prev = compute_clock(t, v);
  int64_t ran = 0;
  for (;;) {
    const ComputeClock c = compute_clock(t, v);
    // Time on the CPU since the last read, less the interrupt handlers run
    // on this CPU meanwhile: interrupt time is not the task's work (the
    // kernel's accounting, and the simulator's).
    int64_t step = c.now - prev.now - (c.off - prev.off) - (c.handler - prev.handler);
    if (step > detail::kHostStallNs) {
      // A gap between two clock reads of this loop that neither the task's
      // time switched out nor signal handlers explain: the host ran
      // something else on this CPU. It is not work, and it is counted.
      v->host_stolen_ns.fetch_add(step, std::memory_order_relaxed);
      step = 0;
    }
    ran += step > 0 ? step : 0;
    prev = c;
    if (ran >= ns || detail::stopping(t)) return;
    pb::cpu_relax();
  }
}

}  // namespace pb::exec
