// The emulated preempt_count: Linux's layout and its context predicates as pure
// functions of a count snapshot. Pure: no state, no threads, no clocks, no
// allocation; everything is constexpr and noexcept, so the executive's fast
// paths inline it and tests can static_assert it.
//
// Definition of correct: include/linux/preempt.h (Linux 6.18; identical in
// 6.12).
//
// Representation. A count is a plain uint32_t (alias PreemptCount), not a
// wrapper class. The executive keeps one such word per task, in static TLS or a
// std::atomic<uint32_t>, and the emulated hardirq (a signal handler) changes it
// with one add or subtract of the offsets below, as the kernel does with
// preempt_count_add()/sub(); the predicates here read a loaded snapshot. A
// class would have to be unwrapped at every such atomic site and buys no
// safety the named offsets and predicates do not already give.
//
// Bits 24-31 are always 0. need_resched is kept in the task's flags and never
// folded into the count: the generic scheme (include/asm-generic/preempt.h:7,
// 62-70; arm64 does the same), not x86's inverted bit 31
// (arch/x86/include/asm/preempt.h:13-28), which only makes preempt_enable() one
// instruction and changes no decision.
//
// One word in every model. The SOFTIRQ field always holds the task's
// bottom-half count: +SOFTIRQ_OFFSET while serving softirqs, +SOFTIRQ_DISABLE_
// OFFSET per local_bh_disable(). On non-RT kernels that is what preempt_count
// holds. On PREEMPT_RT the kernel keeps it apart, in current->softirq_disable_cnt
// (and a per-CPU softirq_ctrl.cnt), so that BH-disabled sections stay
// preemptible (preempt.h:110-132; kernel/softirq.c:105-127 "RT accounts for BH
// disabled sections in task::softirqs_disabled_cnt"). The RT definitions of
// softirq_count(), in_serving_softirq(), in_interrupt() and in_task() read that
// task counter, so on our word they are the same functions in every model;
// in_atomic() and preemptible() read preempt_count() proper and therefore take
// the Model (see kernel_preempt_count()).
//
// The emulation always counts as a CONFIG_PREEMPT_COUNT=y kernel does (every
// PREEMPT_DYNAMIC kernel, and any with DEBUG_ATOMIC_SLEEP, lib/Kconfig.debug:
// 1567-1576): spinlocks raise the count under NONE and VOLUNTARY too, so the
// in_atomic() caveat in preempt.h ("cannot see spinlocks on non-preemptible
// kernels") does not apply.
#pragma once

#include <cstdint>

namespace pb::exec {

// --- the preemption model -----------------------------------------------------

// Declared here rather than in policy.h because the layout itself depends on
// it: PREEMPT_LOCK_OFFSET is 0 on PREEMPT_RT (preempt.h:156-162).
//
// kRt is PREEMPT_RT on top of full preemption: K12 RT implies PREEMPT; in K18
// PREEMPT_RT is a separate bool that combines with PREEMPT or PREEMPT_LAZY
// (kernel/Kconfig.preempt). RT+LAZY is not modelled.
enum class Model : uint8_t { kNone, kVoluntary, kFull, kLazy, kRt };

// CONFIG_PREEMPTION: preempt_enable() and the return from an interrupt to
// kernel code are preemption points (preempt_schedule(), preempt_schedule_irq()).
constexpr bool model_is_preemptible(Model m) noexcept {
  return m == Model::kFull || m == Model::kLazy || m == Model::kRt;
}
constexpr bool model_is_rt(Model m) noexcept { return m == Model::kRt; }
// dynamic_preempt_lazy() (kernel/sched/core.c:1139-1168): resched_curr_lazy()
// sets TIF_NEED_RESCHED_LAZY only when this is true, the full flag otherwise.
constexpr bool model_lazy_active(Model m) noexcept { return m == Model::kLazy; }

// --- layout (include/linux/preempt.h:13-55) ----------------------------------------

using PreemptCount = uint32_t;

inline constexpr uint32_t kPreemptBits = 8;
inline constexpr uint32_t kSoftirqBits = 8;
inline constexpr uint32_t kHardirqBits = 4;
inline constexpr uint32_t kNmiBits = 4;

inline constexpr uint32_t kPreemptShift = 0;
inline constexpr uint32_t kSoftirqShift = kPreemptShift + kPreemptBits;
inline constexpr uint32_t kHardirqShift = kSoftirqShift + kSoftirqBits;
inline constexpr uint32_t kNmiShift = kHardirqShift + kHardirqBits;

inline constexpr PreemptCount kPreemptMask = ((1u << kPreemptBits) - 1) << kPreemptShift;
inline constexpr PreemptCount kSoftirqMask = ((1u << kSoftirqBits) - 1) << kSoftirqShift;
inline constexpr PreemptCount kHardirqMask = ((1u << kHardirqBits) - 1) << kHardirqShift;
inline constexpr PreemptCount kNmiMask = ((1u << kNmiBits) - 1) << kNmiShift;

inline constexpr PreemptCount kPreemptOffset = 1u << kPreemptShift;
inline constexpr PreemptCount kSoftirqOffset = 1u << kSoftirqShift;
inline constexpr PreemptCount kHardirqOffset = 1u << kHardirqShift;
inline constexpr PreemptCount kNmiOffset = 1u << kNmiShift;

// preempt_disable() adds PREEMPT_DISABLE_OFFSET, which is PREEMPT_OFFSET with
// CONFIG_PREEMPT_COUNT (always, here).
inline constexpr PreemptCount kPreemptDisableOffset = kPreemptOffset;
// local_bh_disable() adds 2*SOFTIRQ_OFFSET (preempt.h:55; bottom_half.h:18-21),
// so bit 8 alone means "serving a softirq" (softirq.c:92-103).
inline constexpr PreemptCount kSoftirqDisableOffset = 2 * kSoftirqOffset;
// __nmi_enter() adds NMI_OFFSET + HARDIRQ_OFFSET (hardirq.h:107-113).
inline constexpr PreemptCount kNmiEnterOffset = kNmiOffset + kHardirqOffset;

inline constexpr PreemptCount kIrqCountMask = kNmiMask | kHardirqMask | kSoftirqMask;
inline constexpr PreemptCount kCountMask = kIrqCountMask | kPreemptMask;

static_assert(kPreemptMask == 0x000000ffu && kSoftirqMask == 0x0000ff00u &&
                  kHardirqMask == 0x000f0000u && kNmiMask == 0x00f00000u,
              "masks as in preempt.h:13-55");
static_assert(kPreemptOffset == 1u && kSoftirqOffset == 0x100u && kHardirqOffset == 0x10000u &&
                  kNmiOffset == 0x100000u,
              "offsets as in preempt.h:13-55");
static_assert((kPreemptMask & kSoftirqMask) == 0 && (kSoftirqMask & kHardirqMask) == 0 &&
                  (kHardirqMask & kNmiMask) == 0 && kCountMask == 0x00ffffffu,
              "the four fields partition bits 0-23; bits 24-31 stay 0");

// --- field accessors (preempt.h:108-132) ----------------------------------------

// The preempt_disable() nesting depth: the PREEMPT field alone.
constexpr PreemptCount preempt_count_bits(PreemptCount c) noexcept { return c & kPreemptMask; }
// On RT the kernel reads current->softirq_disable_cnt here; on our word that is
// the same field in every model (see the header comment).
constexpr PreemptCount softirq_count(PreemptCount c) noexcept { return c & kSoftirqMask; }
constexpr PreemptCount hardirq_count(PreemptCount c) noexcept { return c & kHardirqMask; }
constexpr PreemptCount nmi_count(PreemptCount c) noexcept { return c & kNmiMask; }
constexpr PreemptCount irq_count(PreemptCount c) noexcept { return c & kIrqCountMask; }

// --- context predicates (preempt.h:108-143) -------------------------------------

constexpr bool in_nmi(PreemptCount c) noexcept { return nmi_count(c) != 0; }
constexpr bool in_hardirq(PreemptCount c) noexcept { return hardirq_count(c) != 0; }
// Serving a softirq, as opposed to merely having BH disabled.
constexpr bool in_serving_softirq(PreemptCount c) noexcept {
  return (softirq_count(c) & kSoftirqOffset) != 0;
}
// in_softirq(): serving a softirq or BH disabled.
constexpr bool in_softirq(PreemptCount c) noexcept { return softirq_count(c) != 0; }
// NMI, hardirq or any softirq bit: true while BH is merely disabled.
constexpr bool in_interrupt(PreemptCount c) noexcept { return irq_count(c) != 0; }
// Task context: not NMI, not hardirq, not serving a softirq. True with only BH
// disabled or preemption disabled.
constexpr bool in_task(PreemptCount c) noexcept {
  return (c & (kNmiMask | kHardirqMask | kSoftirqOffset)) == 0;
}

// What the kernel's preempt_count() would return for our word: the word itself,
// except on PREEMPT_RT, where the BH count lives in the task (see the header
// comment) and so is not part of preempt_count().
constexpr PreemptCount kernel_preempt_count(PreemptCount c, Model m) noexcept {
  return model_is_rt(m) ? (c & ~kSoftirqMask) : c;
}

// in_atomic(): preempt_count() != 0. On RT neither a held spinlock_t (see
// preempt_lock_offset()) nor a BH-disabled section makes it true.
constexpr bool in_atomic(PreemptCount c, Model m) noexcept {
  return kernel_preempt_count(c, m) != 0;
}

// preemptible(): preempt_count() == 0 && !irqs_disabled() (preempt.h:227).
// local_irq_disable() leaves the count alone but makes this false
// (irqflags.h:206-212).
constexpr bool preemptible(PreemptCount c, bool irqs_disabled, Model m) noexcept {
  return kernel_preempt_count(c, m) == 0 && !irqs_disabled;
}

// --- lock offsets (preempt.h:156-177) -------------------------------------------

// PREEMPT_LOCK_OFFSET: what a spinlock_t holder adds to the count. 0 on RT:
// "Locks on RT do not disable preemption" (spinlock_t is a sleeping rt_mutex
// there: kernel/locking/spinlock_rt.c). raw_spinlock_t always adds
// kPreemptDisableOffset, RT or not.
constexpr PreemptCount preempt_lock_offset(Model m) noexcept {
  return model_is_rt(m) ? 0u : kPreemptDisableOffset;
}
// SOFTIRQ_LOCK_OFFSET = SOFTIRQ_DISABLE_OFFSET + PREEMPT_LOCK_OFFSET: what
// spin_lock_bh() adds (spinlock_api_smp.h:104-135). On RT the BH part goes to
// the task's BH count, which is this word's SOFTIRQ field.
constexpr PreemptCount softirq_lock_offset(Model m) noexcept {
  return kSoftirqDisableOffset + preempt_lock_offset(m);
}

}  // namespace pb::exec
