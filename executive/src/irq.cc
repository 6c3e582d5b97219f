// Interrupts: signals on the interrupted task's own thread.
//
// Two real-time signals, directed at one thread each:
// - the timer signal: every task thread owns a POSIX timer (CLOCK_MONOTONIC,
//   SIGEV_THREAD_ID to itself). The task that becomes current arms it for the
//   vCPU's next expiry (min of the next tick and the first hrtimer); the task
//   that parks disarms it. So the kernel delivers the timer interrupt straight
//   to the thread that is running the vCPU: one hop, as a hardware timer
//   interrupt lands on whatever the CPU runs.
// - the IPI signal: a reschedule IPI (tgkill by a remote waker);
// - the forward signal: the doorbell a stale target (a task that left the CPU
//   after a signal was aimed at it) rings on the vCPU's current task.
//
// The handler is the hardirq. It never allocates, locks a libc lock or
// throws; it uses atomics, the rq spin lock (IRQs are soft-disabled while it
// runs, so nobody on this thread holds it) and raw syscalls (clock_gettime,
// timer_settime, futex, tgkill). Interrupts are identified by pending bits in
// the vCPU, not by the signal: a timer interrupt runs whatever has expired by
// the clock, so a duplicate or late signal is harmless (counted spurious).
#include <pthread.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "internal.h"
#include "pb/sys.h"

namespace pb::exec::detail {
namespace {

struct sigaction g_old_tick;
struct sigaction g_old_ipi;
struct sigaction g_old_forward;

bool run_timer_interrupt(Task* t, Vcpu* v, int64_t entry_ns) noexcept;

void handle(int sig, Task* t, int64_t entry_ns) noexcept {
  Vcpu* v = t->v;
  if (sig == tick_signal()) {
    v->irq_pending.fetch_or(kIrqTimer, std::memory_order_seq_cst);
  } else if (sig == ipi_signal()) {
    // The sender set kIrqIpi before sending.
    t->ipis_received.fetch_add(1, std::memory_order_relaxed);
  }
  // (forward_signal(): the bits were set by the forwarder.)
  if (!t->oncpu.load(std::memory_order_relaxed)) {
    // A stale target: this task left the CPU after the signal was aimed at
    // it. The bit is set; ring the vCPU's current task, which handles it (or,
    // if it is itself still passing its gate, finds it on dispatch).
    t->stale_signals.fetch_add(1, std::memory_order_relaxed);
    Task* curr = v->current.load(std::memory_order_seq_cst);
    if (curr != nullptr && curr != t) sys::tgkill(curr->tid, forward_signal());
    return;
  }
  if (t->irqs_disabled.load(std::memory_order_relaxed) != 0) {
    ++v->stats.irq_masked;  // replayed at local_irq_enable()
    return;
  }
  irq_loop(t, false, entry_ns);
}

void handler(int sig, siginfo_t* /*si*/, void* /*uctx*/) {
  const int saved_errno = errno;
  int64_t entry_ns = sys::now_ns();
  Task* t = tls_task;
  if (t == nullptr || stopping(t)) {
    errno = saved_errno;
    return;
  }
  // First: this thread is in a handler (a direct wakeup cannot claim it from
  // here on), or it was claimed already and parks before anything else.
  const uint32_t state = t->handler_state.fetch_add(1, std::memory_order_acq_rel);
  bool parked = false;
  if ((state & kTakenDirectly) != 0) {
    direct_park(t);
    parked = true;
    entry_ns = sys::now_ns();  // the handler's own time starts at the dispatch
  }
  const int64_t off = t->offcpu_ns.load(std::memory_order_relaxed);
  handle(sig, t, parked ? 0 : entry_ns);
  // Time in handlers on this vCPU's CPU, less the time this task spent
  // switched out inside it (a preemption at irq exit): what compute() may
  // not take for a host stall.
  const int64_t switched_out = t->offcpu_ns.load(std::memory_order_relaxed) - off;
  t->v->handler_ns.fetch_add(sys::now_ns() - entry_ns - switched_out, std::memory_order_relaxed);
  errno = saved_errno;
  // Last: out of the handler (the frame's remaining instructions touch
  // nothing of the vCPU).
  t->handler_state.fetch_sub(1, std::memory_order_acq_rel);
}

}  // namespace

// scheduler_tick(): LAZY promotion first (core.c:5597-5598), then the class's
// task_tick: RR slice (task_tick_rt) or the fair slice (update_curr()).
// Under v's rq lock.
void sched_tick_locked(Task* t, Vcpu* v) noexcept {
  const Model m = t->ex->cfg.model;
  const uint32_t f = t->resched.load(std::memory_order_relaxed);
  const ReschedFlags flags{(f & kReschedFull) != 0, (f & kReschedLazy) != 0};
  Resched req = Resched::kNone;
  if (promote_lazy_at_tick(m, flags)) {
    req = Resched::kFull;
    ++v->stats.lazy_promotions;
  }
  if (t->is_idle) {
    if (v->rq.nr_running() != 0) req = Resched::kFull;
  } else if (t->policy == Policy::kRr && t->cls.rt_priority == t->priority) {
    if (--t->rr_ticks_left <= 0) {
      t->rr_ticks_left = v->rr_ticks;
      if (v->rq.has_rt_prio(t->priority)) {
        t->requeue_tail = true;
        req = Resched::kFull;
        ++v->stats.rr_expiries;
      }
    }
  } else if (t->cls.sched_class == SchedClass::kFair && v->rq.fair().curr() == &t->se) {
    // task_tick_fair() -> update_curr(): the request used up, or the
    // protected slice over, with a peer queued (fair.h).
    if (v->rq.fair().tick(task_clock_locked(v)) && req == Resched::kNone) {
      req = resched_curr_lazy_flag(m);
    }
  }
  if (req != Resched::kNone) {
    const ReschedAction a = resched_curr(req, flags, t->is_idle, false);
    if (a.set != Resched::kNone) {
      t->resched.fetch_or(a.set == Resched::kFull ? kReschedFull : kReschedLazy,
                          std::memory_order_seq_cst);
    }
  }
}

void tick_locked(Task* t, Vcpu* v, int64_t now, int64_t entry_ns) noexcept {
  if (entry_ns != 0 && entry_ns >= v->next_tick_ns) {
    v->tick_lateness->record(entry_ns - v->next_tick_ns);
  }
  const int64_t missed = (now - v->next_tick_ns) / v->tick_period_ns;
  v->stats.ticks_missed += static_cast<uint64_t>(missed);
  v->next_tick_ns += (missed + 1) * v->tick_period_ns;
  ++v->stats.ticks;
  sched_tick_locked(t, v);
}

namespace {

bool run_timer_interrupt(Task* t, Vcpu* v, int64_t entry_ns) noexcept {
  const int64_t now = sys::now_ns();
  bool did = false;
  if (now >= v->next_tick_ns) {
    v->rq_lock.lock();
    tick_locked(t, v, now, entry_ns);
    v->rq_lock.unlock();
    did = true;
  }
  // hrtimer_interrupt(): run every expired timer, callbacks outside the lock.
  for (;;) {
    v->rq_lock.lock();
    Hrtimer* h = v->timers.top();
    if (h == nullptr || h->expires > now) {
      v->rq_lock.unlock();
      break;
    }
    v->timers.pop();
    v->rq_lock.unlock();
    ++v->stats.hrtimers_expired;
    h->fn(h, t);
    did = true;
  }
  v->rq_lock.lock();
  update_programmed_locked(v);
  v->rq_lock.unlock();
  timer_arm(t, arm_target(t, v));
  // Parked tasks armed for an expiry that has passed have fired (or will,
  // harmlessly): they leave the set and re-arm when dispatched.
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
  if (did) ++v->stats.irq_timer;
  return did;
}

}  // namespace

void spin_ns(int64_t ns) noexcept {
  if (ns <= 0) return;
  const int64_t end = sys::now_ns() + ns;
  while (sys::now_ns() < end) pb::cpu_relax();
}

void raise_softirq(Vcpu* v, int64_t ns) noexcept {
  if (ns <= 0) return;
  v->softirq_pending.fetch_add(ns, std::memory_order_relaxed);
  ++v->stats.softirq_raised;
}

void wakeup_softirqd(Task* curr, Vcpu* v) noexcept {
  if (v->ksoftirqd == nullptr) return;
  if (v->ksoftirqd_woken.exchange(1, std::memory_order_relaxed) != 0) return;
  ++v->stats.ksoftirqd_wakeups;
  complete_noresched(curr, v->ksoftirqd->wake_token);
}

namespace {

// handle_softirqs()'s loop without softirq_handle_begin()/end(): the caller
// holds SOFTIRQ_OFFSET. Rounds restart while work is pending, up to
// softirq_after_round()'s bounds (MAX_SOFTIRQ_RESTART rounds, MAX_SOFTIRQ_TIME);
// what is left then goes to ksoftirqd.
void softirq_rounds(Task* t) noexcept {
  Vcpu* v = t->v;
  const int64_t start = sys::now_ns();
  for (int rounds = 1;; ++rounds) {
    const int64_t work = v->softirq_pending.exchange(0, std::memory_order_relaxed);
    spin_ns(work);
    v->stats.softirq_ns += work;
    ++v->stats.softirq_rounds;
    const bool need_resched = (t->resched.load(std::memory_order_relaxed) & kReschedFull) != 0;
    const SoftirqNext next =
        softirq_after_round(rounds, sys::now_ns() - start, need_resched,
                            v->softirq_pending.load(std::memory_order_relaxed) != 0);
    if (next == SoftirqNext::kRestart) continue;
    if (next == SoftirqNext::kWakeKsoftirqd) {
      ++v->stats.softirq_bounded;
      wakeup_softirqd(t, v);
    }
    break;
  }
}

// The task's own count, read and written only on its thread (handlers
// included): a plain read-modify-write, then a signal fence so that a handler
// nesting after it sees the new value.
void count_add(Task* t, PreemptCount offset) noexcept {
  t->preempt_count.store(t->preempt_count.load(std::memory_order_relaxed) + offset,
                         std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

void count_sub(Task* t, PreemptCount offset) noexcept {
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t->preempt_count.store(t->preempt_count.load(std::memory_order_relaxed) - offset,
                         std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

}  // namespace

void run_softirqs(Task* t) noexcept {
  count_add(t, kSoftirqOffset);
  softirq_rounds(t);
  count_sub(t, kSoftirqOffset);
}

// The device's hardirq: the hard prologue (entry, ack), then the flow
// handler (a ONESHOT line is masked) and the primary handler, which either
// runs the handler here or sets IRQTF_RUNTHREAD and wakes the thread
// (__irq_wake_thread()).
void device_hardirq(Device* d, Task* curr) noexcept {
  Vcpu* v = d->v;
  spin_ns(d->spec.entry_ns);
  const IrqHardirqAction a = d->line.hardirq();
  if (d->threaded) {
    if (a.wake_thread) {
      ++v->stats.irq_thread_wakeups;
      complete_noresched(curr, d->thread->wake_token);
    }
    return;
  }
  ++v->stats.irq_device;
  d->line.handler_begin();
  spin_ns(d->spec.handler_ns);
  if (d->spec.handler_fn != nullptr) d->spec.handler_fn(d->spec.handler_arg);
  raise_softirq(v, d->spec.softirq_ns);
  d->line.handler_end(sys::now_ns());
}

// A device's hrtimer callback: the device asserts its line. A hardirq
// follows unless the line is masked (its ONESHOT thread pending or running:
// the firing is latched, delivered at the unmask).
void device_fire(Hrtimer* h, Task* curr) noexcept {
  auto* d = static_cast<Device*>(h->owner);
  Vcpu* v = d->v;
  // Re-arm on the period grid; periods that already passed merge into this
  // firing (a level-triggered line is asserted once).
  const int64_t period = d->spec.period_ns;
  const int64_t now = sys::now_ns();
  int64_t next = h->expires + period;
  if (next <= now) {
    const int64_t k = (now - next) / period + 1;
    next += k * period;
    d->line.fire_missed(static_cast<uint64_t>(k));
  }
  v->rq_lock.lock();
  hrtimer_start_locked(curr, h, next);
  v->rq_lock.unlock();
  if (d->line.fire(now)) device_hardirq(d, curr);
}

// The latched firing delivered at the unmask.
void device_unmask_fire(Hrtimer* h, Task* curr) noexcept {
  device_hardirq(static_cast<Device*>(h->owner), curr);
}

// --- the kernel's own tasks ---------------------------------------------------------------

void ksoftirqd_body(TaskApi& api, Vcpu* v) {
  // run_ksoftirqd(): handle_softirqs() with BH off, then cond_resched().
  api.kernel_enter();
  Task* self = v->ksoftirqd;
  while (api.block()) {
    v->ksoftirqd_woken.store(0, std::memory_order_relaxed);
    if (v->softirq_pending.load() != 0) {
      ++v->stats.softirq_in_ksoftirqd;
      run_softirqs(self);
    }
    api.cond_resched();
  }
}

void irq_thread_body(TaskApi& api, Device* d, Model m) {
  // irq_thread(): a requested thread_fn runs as is; a force-threaded handler
  // runs inside local_bh_disable() and, off RT, local_irq_disable()
  // (irq_forced_thread_fn(), kernel/irq/manage.c). Softirqs it raises run
  // at its local_bh_enable().
  api.kernel_enter();
  const bool forced = (d->spec.flags & kIrqfThreadFn) == 0;
  const bool mask = forced && forced_irq_thread_masks_irqs(m);
  Task* self = d->thread;
  while (api.block()) {
    while (api.running()) {
      // irq_wait_for_interrupt(): test_and_clear_bit(IRQTF_RUNTHREAD); the
      // line state is shared with the device's hardirq on this vCPU.
      api.local_irq_disable();
      const bool run = d->line.thread_take();
      api.local_irq_enable();
      if (!run) break;
      if (forced) api.local_bh_disable();
      api.local_irq_disable();
      d->line.handler_begin();  // the handler serves every firing so far
      if (!mask) api.local_irq_enable();
      // The thread's own work: time it is preempted or interrupted does not count.
      api.compute(d->spec.handler_ns);
      if (d->spec.handler_fn != nullptr) d->spec.handler_fn(d->spec.handler_arg);
      raise_softirq(d->v, d->spec.softirq_ns);
      // irq_finalize_oneshot() (under desc->lock, IRQs off): unmask unless
      // RUNTHREAD was set again; a firing latched meanwhile is raised now
      // and taken when this thread enables interrupts.
      if (!mask) api.local_irq_disable();
      if (d->line.handler_end(sys::now_ns())) {
        d->v->rq_lock.lock();
        hrtimer_start_locked(self, &d->unmask_timer, sys::now_ns());
        d->v->rq_lock.unlock();
      }
      api.local_irq_enable();
      if (forced) api.local_bh_enable();
    }
  }
}

int tick_signal() noexcept { return SIGRTMIN + 4; }
int ipi_signal() noexcept { return SIGRTMIN + 5; }
int forward_signal() noexcept { return SIGRTMIN + 6; }

void install_signal_handlers() noexcept {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = &handler;
  // SA_RESTART: a body's own system calls are not cut short by the tick.
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  // Hardirqs do not nest: both signals are blocked while either runs,
  // including while a task is parked inside its handler.
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, tick_signal());
  sigaddset(&sa.sa_mask, ipi_signal());
  sigaddset(&sa.sa_mask, forward_signal());
  ::sigaction(tick_signal(), &sa, &g_old_tick);
  ::sigaction(ipi_signal(), &sa, &g_old_ipi);
  ::sigaction(forward_signal(), &sa, &g_old_forward);
}

void restore_signal_handlers() noexcept {
  ::sigaction(tick_signal(), &g_old_tick, nullptr);
  ::sigaction(ipi_signal(), &g_old_ipi, nullptr);
  ::sigaction(forward_signal(), &g_old_forward, nullptr);
}

void timer_arm(Task* t, int64_t abs_ns) noexcept {
  if (abs_ns <= 0 || !t->timer_created) return;
  itimerspec its{};
  its.it_value = sys::to_timespec(abs_ns);
  ::timer_settime(t->timer, TIMER_ABSTIME, &its, nullptr);
  t->timer_syscalls.fetch_add(1, std::memory_order_relaxed);
  t->armed_ns = abs_ns;
}

void timer_disarm(Task* t) noexcept {
  if (t->armed_ns == 0 || !t->timer_created) return;
  itimerspec its{};
  ::timer_settime(t->timer, 0, &its, nullptr);
  t->timer_syscalls.fetch_add(1, std::memory_order_relaxed);
  t->armed_ns = 0;
}

void update_programmed_locked(Vcpu* v) noexcept {
  int64_t p = v->next_tick_ns;
  int64_t p_idle = p;
  if (const Hrtimer* h = v->timers.top(); h != nullptr && h->expires < p) {
    p = h->expires;
    // The idle task need not be armed for a direct sleeper's expiry: the
    // sleeper's thread (host SCHED_FIFO, always above the idle thread's
    // SCHED_OTHER) wakes at it and takes the wakeup, or rings the current
    // task with the timer signal when it declines (direct_wakeup()), so
    // the idle thread is armed for what follows (the second timer may be
    // direct too: early, never late). Its own signal would be a second
    // host wakeup at the same instant, on the wakee's path.
    p_idle = h->direct ? std::min(p_idle, v->timers.second_expires()) : p;
  }
  v->programmed_ns.store(p, std::memory_order_relaxed);
  v->programmed_idle_ns.store(p_idle, std::memory_order_relaxed);
}

int64_t arm_target(const Task* t, const Vcpu* v) noexcept {
  return (t->is_idle ? v->programmed_idle_ns : v->programmed_ns).load(std::memory_order_relaxed);
}

void hrtimer_start_locked(Task* t, Hrtimer* h, int64_t expires) noexcept {
  Vcpu* v = t->v;
  if (h->heap_index >= 0) v->timers.remove(h);
  h->expires = expires;
  v->timers.push(h);
  const int64_t before = arm_target(t, v);
  update_programmed_locked(v);
  const int64_t after = arm_target(t, v);
  if (after != before) timer_arm(t, after);
}

void hrtimer_cancel_locked(Vcpu* v, Hrtimer* h) noexcept {
  v->timers.remove(h);
  update_programmed_locked(v);
}

// The executive's three signals, as a set (pthread_sigmask).
sigset_t our_signals() noexcept {
  sigset_t ours;
  sigemptyset(&ours);
  sigaddset(&ours, tick_signal());
  sigaddset(&ours, ipi_signal());
  sigaddset(&ours, forward_signal());
  return ours;
}

namespace {

// __do_softirq() at irq exit, entered with IRQs off (the soft mask set, and
// in a handler our signals blocked). As softirq_handle_begin() does in
// kernel/softirq.c, SOFTIRQ_OFFSET is raised *before* interrupts are enabled:
// a hardirq that nests into the rounds then sees in_interrupt() at its own
// exit and leaves the softirqs to this loop (softirq_at_irq_exit() says
// kDeferred) instead of running them inline again. Enabling first let every
// signal queued during the hardirq nest in before the offset and run the
// softirqs one level deeper, without bound, until the stack overflowed. The
// offset is dropped only after IRQs are off again (softirq_handle_end()).
void do_softirq_at_irq_exit(Task* t, bool replay) noexcept {
  count_add(t, kSoftirqOffset);
  const sigset_t ours = our_signals();
  t->irqs_disabled.store(0, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  // In a handler our signals are blocked (sa_mask): unblock them so hardirqs
  // nest into the softirqs. A replay runs in task context, where they are
  // not blocked.
  if (!replay) ::pthread_sigmask(SIG_UNBLOCK, &ours, nullptr);
  softirq_rounds(t);
  if (!replay) ::pthread_sigmask(SIG_BLOCK, &ours, nullptr);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  // A signal landing here sees IRQs off and leaves its bit for irq_loop's
  // next pass.
  t->irqs_disabled.store(1, std::memory_order_relaxed);
  count_sub(t, kSoftirqOffset);
}

// Nesting depth of irq_loop() on this task's thread, for the bound's check.
struct DepthGuard {
  Task* t;
  explicit DepthGuard(Task* task) noexcept : t(task) {
    const int d = ++t->irq_depth;
    if (static_cast<uint64_t>(d) > t->v->stats.irq_nesting_max) {
      t->v->stats.irq_nesting_max = static_cast<uint64_t>(d);
    }
  }
  ~DepthGuard() { --t->irq_depth; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;
};

}  // namespace

void irq_loop(Task* t, bool replay, int64_t entry_ns) noexcept {
  Vcpu* v = t->v;
  const Model m = t->ex->cfg.model;
  const DepthGuard depth(t);
  for (;;) {
    if (stopping(t)) return;
    const uint32_t bits = v->irq_pending.exchange(0, std::memory_order_seq_cst);
    if (bits == 0) return;
    // irq_enter(): HARDIRQ_OFFSET on the interrupted task, IRQs off.
    const AcctState interrupted = v->acct_state;
    acct_switch(v, kAcctIrq);
    t->irqs_disabled.store(1, std::memory_order_relaxed);
    count_add(t, kHardirqOffset);
    v->heartbeat.store(v->heartbeat.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (replay) ++v->stats.irq_replayed;
    bool did = false;
    if ((bits & kIrqIpi) != 0) {
      // scheduler_ipi(): the flag is already in the task (set by the waker),
      // acknowledge so the next wakeup may send again.
      const int64_t sent = v->ipi_sent_ns.load(std::memory_order_relaxed);
      const bool was_ipi = v->ipi_pending.exchange(0, std::memory_order_seq_cst) != 0;
      if (was_ipi) {
        if (entry_ns != 0 && sent != 0 && entry_ns >= sent)
          v->ipi_lateness->record(entry_ns - sent);
        ++v->stats.irq_ipi;
        did = true;
      }
    }
    if ((bits & kIrqTimer) != 0 && run_timer_interrupt(t, v, entry_ns)) did = true;
    entry_ns = 0;  // later rounds of this loop were not this signal's
    if (!did) ++v->stats.irq_spurious;
    // irq_exit(): HARDIRQ_OFFSET off, then, still with IRQs off, softirqs
    // where the policy puts them (softirq.c:713-730).
    count_sub(t, kHardirqOffset);
    if (v->softirq_pending.load(std::memory_order_relaxed) != 0) {
      SoftirqExit se;
      se.count = t->preempt_count.load(std::memory_order_relaxed);
      se.pending = true;
      // RT's softirq_ctrl.cnt: approximated by the interrupted task's own BH
      // count (a preempted task that holds BH off is not seen).
      se.cpu_bh_disabled = softirq_count(se.count) != 0;
      se.threadirqs = t->ex->cfg.threadirqs;
      switch (softirq_at_irq_exit(m, se)) {
        case SoftirqPlacement::kInline:
          ++v->stats.softirq_at_irq_exit;
          do_softirq_at_irq_exit(t, replay);
          break;
        case SoftirqPlacement::kWakeKsoftirqd:
          wakeup_softirqd(t, v);
          break;
        case SoftirqPlacement::kDeferred:
          ++v->stats.softirq_deferred;
          break;
        case SoftirqPlacement::kNothingPending:
          break;
      }
    }
    std::atomic_signal_fence(std::memory_order_seq_cst);
    t->irqs_disabled.store(0, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    acct_switch(v, interrupted);
    if (t->is_idle) v->idle_seq.fetch_add(1, std::memory_order_release);
    // irqentry_exit(): to user mode or to kernel code, as the policy says. A
    // hardirq nested in the softirqs an outer irq exit runs (signals are
    // unblocked for them above) returns to that softirq: kernel code with
    // SOFTIRQ_OFFSET held, whatever the task's mode.
    const PreemptCount count = t->preempt_count.load(std::memory_order_relaxed);
    const Point p = irq_exit_point(t->mode == Mode::kUser && (count & kIrqCountMask) == 0);
    const uint32_t f = t->resched.load(std::memory_order_relaxed);
    const Context c{count, false, ReschedFlags{(f & kReschedFull) != 0, (f & kReschedLazy) != 0}};
    const Decision d = decide(m, p, c);
    ++v->stats.decisions[static_cast<size_t>(p)][static_cast<size_t>(d.reason)];
    if (d.switch_now) schedule_core(t, p, SwitchKind::kPreempt, true);
  }
}

}  // namespace pb::exec::detail
