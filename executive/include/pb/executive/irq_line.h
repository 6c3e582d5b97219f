// One device interrupt line and its handler, as the kernel's generic IRQ
// layer runs them (kernel/irq/chip.c, handle.c, manage.c). Pure state machine:
// both mechanisms (the executive's signal-driven hardirqs and IRQ threads, the
// simulator's events) hold one per device and tell it what happened; it says
// what the kernel would do next and keeps the per-device counts.
//
// The three shapes (irq_threaded() and the flags in policy.h decide which):
// - kHardirq: the handler runs in the hardirq. A firing while the previous
//   one is still pending at the CPU (not yet taken: IRQs off, another hardirq
//   running) merges into it: one pending bit per vector.
// - kThreadOneshot: forced threading (irq_setup_forced_threading() adds
//   IRQF_ONESHOT) or a requested thread with IRQF_ONESHOT. The flow handler
//   masks the line before the primary handler (handle_fasteoi_irq() /
//   handle_level_irq() with IRQS_ONESHOT); the primary handler only sets
//   IRQTF_RUNTHREAD and wakes the thread (__irq_wake_thread()); the line stays
//   masked while the thread is pending or running (cond_unmask_eoi_irq() keeps
//   it masked while threads_oneshot is set) and is unmasked by
//   irq_finalize_oneshot() after the thread's handler, unless RUNTHREAD was set
//   again. While masked, the device's assertions are latched by the line
//   (a level line stays asserted, an MSI sets its pending bit): one interrupt
//   is delivered at the unmask, however many came.
// - kThreadShared: a requested thread without IRQF_ONESHOT (a primary handler
//   that quiets the device): the line is never masked, every firing is a
//   hardirq, and the wakeups merge in the one RUNTHREAD bit (test_and_set_bit
//   in __irq_wake_thread()): the thread runs its handler once per wakeup.
//
// The thread's handler reads the device: one run serves every firing that
// came before it began (and clears the latch: a level line drops once the
// device is serviced); a firing during the run is latched and delivered at
// the unmask. "fire -> handled" is measured from the oldest firing a run
// serves to the end of that run.
//
// Accounting identity (tested): fired == delivered + coalesced +
// pending_at_cpu + latched, where `coalesced` counts the firings that never
// got a hardirq of their own.
#pragma once

#include <cstdint>

#include "pb/executive/policy.h"

namespace pb::exec {

enum class IrqLineKind : uint8_t { kHardirq, kThreadOneshot, kThreadShared };

struct IrqLineStats {
  uint64_t fired = 0;           // the device asserted the line
  uint64_t delivered = 0;       // hardirqs taken (primary handler runs)
  uint64_t coalesced = 0;       // firings merged into another one (no hardirq of their own)
  uint64_t handled = 0;         // handler runs (in the hardirq, or the thread's once per wakeup)
  uint64_t wakeups_merged = 0;  // kThreadShared: hardirqs that found RUNTHREAD set
  int64_t worst_fire_to_handled_ns = 0;
  friend constexpr bool operator==(const IrqLineStats&, const IrqLineStats&) = default;
};

// What the hardirq does after the flow handler.
struct IrqHardirqAction {
  bool run_handler = false;  // kHardirq: the handler runs here, now
  bool wake_thread = false;  // threaded: RUNTHREAD was clear: wake the thread
};

// The shape of a device's line: its handler threaded (irq_threaded()) means
// ONESHOT here: forced threading adds IRQF_ONESHOT, and a requested thread
// whose primary handler is the default one must have it (a NULL primary
// without IRQF_ONESHOT is refused, __setup_irq() in kernel/irq/manage.c).
// kThreadShared (a driver's own primary handler) is not produced by any
// description yet.
constexpr IrqLineKind irq_line_kind(Model m, IrqFlags flags, bool threadirqs) noexcept {
  return irq_threaded(m, flags, threadirqs) ? IrqLineKind::kThreadOneshot : IrqLineKind::kHardirq;
}

class IrqLine {
 public:
  constexpr IrqLine() noexcept = default;
  constexpr explicit IrqLine(IrqLineKind kind) noexcept : kind_(kind) {}

  constexpr IrqLineKind kind() const noexcept { return kind_; }
  constexpr bool threaded() const noexcept { return kind_ != IrqLineKind::kHardirq; }
  constexpr const IrqLineStats& stats() const noexcept { return st_; }
  // The line is masked (ONESHOT, thread pending or running).
  constexpr bool masked() const noexcept { return masked_; }
  // A firing is latched by the masked line, to be delivered at the unmask.
  constexpr bool latched() const noexcept { return latched_; }
  // A hardirq has been raised and not yet taken.
  constexpr bool pending_at_cpu() const noexcept { return pending_cpu_; }
  // IRQTF_RUNTHREAD.
  constexpr bool runthread() const noexcept { return runthread_; }
  // The thread is between irq_wait_for_interrupt() returning and the end of
  // irq_finalize_oneshot().
  constexpr bool thread_running() const noexcept { return thread_running_; }

  // The device asserts the line at `now`. Returns true when a hardirq must
  // be raised on the CPU now (the mechanism then calls hardirq() when the
  // CPU takes it); false when the firing is latched by the masked line or
  // merges into a hardirq already pending.
  constexpr bool fire(int64_t now) noexcept {
    ++st_.fired;
    if (oldest_unserved_ns_ < 0) oldest_unserved_ns_ = now;
    if (masked_) {
      if (latched_) {
        ++st_.coalesced;
      } else {
        latched_ = true;
      }
      return false;
    }
    if (pending_cpu_) {
      ++st_.coalesced;
      return false;
    }
    pending_cpu_ = true;
    return true;
  }

  // `n` periods of a periodic device passed unnoticed (the mechanism's
  // timer came late): n more firings, each merged into the current one.
  constexpr void fire_missed(uint64_t n) noexcept {
    st_.fired += n;
    st_.coalesced += n;
  }

  // The CPU takes the raised hardirq: the flow handler (mask for ONESHOT),
  // then the primary handler.
  constexpr IrqHardirqAction hardirq() noexcept {
    pending_cpu_ = false;
    ++st_.delivered;
    if (kind_ == IrqLineKind::kHardirq) return {true, false};
    if (kind_ == IrqLineKind::kThreadOneshot) masked_ = true;
    if (runthread_) {
      ++st_.wakeups_merged;
      return {false, false};
    }
    runthread_ = true;
    // A thread still inside its handler run loops without sleeping
    // (irq_wait_for_interrupt() finds the bit); otherwise it must be woken.
    return {false, !thread_running_};
  }

  // irq_wait_for_interrupt(): test_and_clear_bit(IRQTF_RUNTHREAD). True: run
  // the handler once (call handler_begin() then handler_end()).
  constexpr bool thread_take() noexcept {
    if (!runthread_) return false;
    runthread_ = false;
    thread_running_ = true;
    return true;
  }

  // The handler starts: it serves every firing so far (the latch drops).
  constexpr void handler_begin() noexcept {
    if (latched_) {
      // Served by this run without a hardirq of its own.
      latched_ = false;
      ++st_.coalesced;
    }
    served_from_ns_ = oldest_unserved_ns_;
    oldest_unserved_ns_ = -1;
  }

  // The handler ends at `now`. For the thread this is followed by
  // irq_finalize_oneshot(): returns true when the unmask delivers a latched
  // firing at once (the mechanism raises the hardirq, as fire() returning
  // true; the CPU takes it when the thread re-enables interrupts).
  constexpr bool handler_end(int64_t now) noexcept {
    ++st_.handled;
    if (served_from_ns_ >= 0 && now - served_from_ns_ > st_.worst_fire_to_handled_ns) {
      st_.worst_fire_to_handled_ns = now - served_from_ns_;
    }
    served_from_ns_ = -1;
    if (kind_ == IrqLineKind::kHardirq) return false;
    thread_running_ = runthread_;  // RUNTHREAD set again: the thread loops
    if (kind_ != IrqLineKind::kThreadOneshot || runthread_) return false;
    masked_ = false;
    if (!latched_) return false;
    latched_ = false;
    pending_cpu_ = true;
    return true;
  }

 private:
  IrqLineKind kind_ = IrqLineKind::kHardirq;
  bool masked_ = false;
  bool latched_ = false;
  bool pending_cpu_ = false;
  bool runthread_ = false;
  bool thread_running_ = false;
  int64_t oldest_unserved_ns_ = -1;  // the oldest firing no handler run has begun to serve
  int64_t served_from_ns_ = -1;      // the oldest firing the current run serves
  IrqLineStats st_{};
};

}  // namespace pb::exec
