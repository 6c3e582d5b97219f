// The host class of each task thread mirrors its emulated class (DESIGN.md,
// "Host class"): with host SCHED_FIFO, emulated RT tasks and IRQ threads run
// at SCHED_FIFO, fair tasks, ksoftirqd and the idle task at SCHED_OTHER
// nice -20. The gates keep one thread of a vCPU runnable at a time, so the
// host class decides nothing about the emulated order; it decides what the
// host's RT throttling (kernel.sched_rt_runtime_us) charges, which is then
// exactly what a real kernel's throttling would charge for the same run.
// Also here: the RT-class busy time per vCPU that the throttling would see.
#include <sched.h>

#include <algorithm>

#include "internal.h"
#include "pb/sys.h"

namespace pb::exec::detail {
namespace {

constexpr int kOtherNice = -20;

bool is_rt(const TaskClass& c) noexcept { return c.sched_class == SchedClass::kRt; }

int apply(pid_t tid, int want) noexcept {
  if (want > 0) return sys::set_scheduler(tid, SCHED_FIFO, want);
  if (want == kHostExited) return sys::set_scheduler(tid, SCHED_IDLE, 0);
  const int rc = sys::set_scheduler(tid, SCHED_OTHER, 0);
  // The nice value survives policy changes; set it anyway (cheap, and
  // correct even if something reset it).
  if (rc == 0) sys::set_nice(tid, kOtherNice);
  return rc;
}

// RT-class accounting: the current task becomes RT-class (or not) at `now`.
void rt_mark(Vcpu* v, bool rt, int64_t now) noexcept {
  const int64_t since = v->rt_since_ns.exchange(rt ? now : 0, std::memory_order_relaxed);
  if (since != 0 && now > since) v->rt_busy_ns.fetch_add(now - since, std::memory_order_relaxed);
}

}  // namespace

int host_class_for(const TaskClass& c) noexcept {
  return is_rt(c) ? std::clamp(c.rt_priority, 1, 98) : kHostOther;
}

int host_class_setup(Task* t) noexcept {
  if (!t->ex->host_fifo) {
    t->host_want.store(kHostUnmanaged, std::memory_order_relaxed);
    return sys::set_scheduler(0, SCHED_OTHER, 0);
  }
  const int want = host_class_for(t->cls);
  t->host_want.store(want, std::memory_order_relaxed);
  const int rc = apply(0, want);
  if (rc == 0) t->host_applied.store(want, std::memory_order_relaxed);
  return rc;
}

void host_class_changed_locked(Task* t) noexcept {
  const int want = t->host_want.load(std::memory_order_relaxed);
  if (want != kHostUnmanaged && want != kHostExited) {
    t->host_want.store(host_class_for(t->cls), std::memory_order_seq_cst);
  }
  if (t->v->current.load(std::memory_order_relaxed) == t)
    rt_mark(t->v, is_rt(t->cls), sys::now_ns());
}

void host_class_sync(Task* t) noexcept {
  ExecState* ex = t->ex;
  for (;;) {
    const int want = t->host_want.load(std::memory_order_seq_cst);
    if (want == kHostUnmanaged || want == t->host_applied.load(std::memory_order_relaxed)) return;
    if (ex->host_rt_off.load(std::memory_order_seq_cst) != 0) return;
    if (t->host_apply.exchange(1, std::memory_order_acquire) != 0) return;  // the holder re-checks
    const int now_want = t->host_want.load(std::memory_order_seq_cst);
    if (now_want != t->host_applied.load(std::memory_order_relaxed) &&
        apply(t->tid, now_want) == 0) {
      t->host_applied.store(now_want, std::memory_order_relaxed);
      if (now_want != kHostExited) ex->host_class_changes.fetch_add(1, std::memory_order_relaxed);
    }
    // Demoted meanwhile (watchdog, teardown): undo a raise that came after.
    if (ex->host_rt_off.load(std::memory_order_seq_cst) != 0 && now_want > 0) {
      sys::set_scheduler(t->tid, SCHED_OTHER, 0);
      t->host_applied.store(kHostOther, std::memory_order_relaxed);
    }
    t->host_apply.store(0, std::memory_order_release);
    if (t->host_want.load(std::memory_order_seq_cst) ==
        t->host_applied.load(std::memory_order_relaxed)) {
      return;
    }
  }
}

void host_class_dispatched(Task* t) noexcept {
  rt_mark(t->v, !t->is_idle && is_rt(t->cls), t->picked_ns != 0 ? t->picked_ns : sys::now_ns());
  host_class_sync(t);
}

// Measured on Debian's PREEMPT_RT arm64 kernel under qemu-system-aarch64
// (scripts/test-arm64-system): at its host SCHED_FIFO priority the thread of
// an exited RT task took milliseconds to finish exiting, while the fair
// task it had just dispatched (host SCHED_OTHER) waited on the CPU; the
// vCPU's tick then found that task's slice used up before it had run.
void host_class_exited(Task* t) noexcept {
  if (t->host_want.load(std::memory_order_seq_cst) == kHostUnmanaged) {
    sys::set_scheduler(0, SCHED_IDLE, 0);
    return;
  }
  t->host_want.store(kHostExited, std::memory_order_seq_cst);
  host_class_sync(t);
}

int64_t rt_busy_until(const Vcpu* v, int64_t now_ns) noexcept {
  const int64_t since = v->rt_since_ns.load(std::memory_order_relaxed);
  return v->rt_busy_ns.load(std::memory_order_relaxed) +
         (since != 0 && now_ns > since ? now_ns - since : 0);
}

}  // namespace pb::exec::detail
