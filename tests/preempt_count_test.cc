// preempt_count layout and context predicates against include/linux/preempt.h,
// with the expected values written out here as literals, not derived from
// the header's constants.
#include "pb/executive/preempt_count.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace {

using pb::exec::Model;

constexpr Model kModels[] = {Model::kNone, Model::kVoluntary, Model::kFull, Model::kLazy,
                             Model::kRt};

TEST(PolicyPreemptCount, LayoutMatchesPreemptH) {
  EXPECT_EQ(pb::exec::kPreemptMask, 0x000000ffu);
  EXPECT_EQ(pb::exec::kSoftirqMask, 0x0000ff00u);
  EXPECT_EQ(pb::exec::kHardirqMask, 0x000f0000u);
  EXPECT_EQ(pb::exec::kNmiMask, 0x00f00000u);
  EXPECT_EQ(pb::exec::kPreemptOffset, 0x1u);
  EXPECT_EQ(pb::exec::kSoftirqOffset, 0x100u);
  EXPECT_EQ(pb::exec::kHardirqOffset, 0x10000u);
  EXPECT_EQ(pb::exec::kNmiOffset, 0x100000u);
  EXPECT_EQ(pb::exec::kPreemptDisableOffset, 0x1u);
  EXPECT_EQ(pb::exec::kSoftirqDisableOffset, 0x200u);
  EXPECT_EQ(pb::exec::kNmiEnterOffset, 0x110000u);
  EXPECT_EQ(pb::exec::kIrqCountMask, 0x00ffff00u);
  EXPECT_EQ(pb::exec::kPreemptShift, 0u);
  EXPECT_EQ(pb::exec::kSoftirqShift, 8u);
  EXPECT_EQ(pb::exec::kHardirqShift, 16u);
  EXPECT_EQ(pb::exec::kNmiShift, 20u);
}

TEST(PolicyPreemptCount, FieldAccessorsIsolateTheirField) {
  constexpr uint32_t c = 0x00a5c3e7u;
  EXPECT_EQ(pb::exec::preempt_count_bits(c), 0xe7u);
  EXPECT_EQ(pb::exec::softirq_count(c), 0xc300u);
  EXPECT_EQ(pb::exec::hardirq_count(c), 0x50000u);
  EXPECT_EQ(pb::exec::nmi_count(c), 0xa00000u);
  EXPECT_EQ(pb::exec::irq_count(c), 0xa5c300u);
}

TEST(PolicyPreemptCount, LockOffsetsPerModel) {
  // PREEMPT_LOCK_OFFSET: 1, except 0 on RT ("Locks on RT do not disable
  // preemption"); SOFTIRQ_LOCK_OFFSET = 0x200 + that.
  const uint32_t preempt_lock[] = {1, 1, 1, 1, 0};
  const uint32_t softirq_lock[] = {0x201, 0x201, 0x201, 0x201, 0x200};
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(pb::exec::preempt_lock_offset(kModels[i]), preempt_lock[i]);
    EXPECT_EQ(pb::exec::softirq_lock_offset(kModels[i]), softirq_lock[i]);
  }
}

TEST(PolicyPreemptCount, ModelTraits) {
  const bool preemption[] = {false, false, true, true, true};
  const bool rt[] = {false, false, false, false, true};
  const bool lazy[] = {false, false, false, true, false};
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(pb::exec::model_is_preemptible(kModels[i]), preemption[i]);
    EXPECT_EQ(pb::exec::model_is_rt(kModels[i]), rt[i]);
    EXPECT_EQ(pb::exec::model_lazy_active(kModels[i]), lazy[i]);
  }
}

// One row per interesting count: what each predicate must say. in_atomic is
// given for non-RT and RT separately (on RT the SOFTIRQ field is the task's BH
// count, outside preempt_count()).
struct PredicateRow {
  const char* what;
  uint32_t count;
  bool nmi, hardirq, serving_softirq, softirq, interrupt, task, atomic, atomic_rt;
};

// clang-format off
constexpr PredicateRow kRows[] = {
    // what                                count      nmi    hard   serv   bh     intr   task   atom   atomRT
    {"idle task context", 0x0, false, false, false, false, false, true, false, false},
    {"preempt_disable", 0x1, false, false, false, false, false, true, true, true},
    {"preempt_disable nested", 0x2, false, false, false, false, false, true, true, true},
    {"preempt depth 255", 0xff, false, false, false, false, false, true, true, true},
    {"serving softirq", 0x100, false, false, true, true, true, false, true, false},
    {"BH disabled", 0x200, false, false, false, true, true, true, true, false},
    {"BH disabled twice", 0x400, false, false, false, true, true, true, true, false},
    {"BH disabled inside softirq", 0x300, false, false, true, true, true, false, true, false},
    {"spin_lock_bh (non-RT)", 0x201, false, false, false, true, true, true, true, true},
    {"hardirq", 0x10000, false, true, false, false, true, false, true, true},
    {"nested hardirq", 0x20000, false, true, false, false, true, false, true, true},
    {"hardirq over preempt-off", 0x10001, false, true, false, false, true, false, true, true},
    {"hardirq over softirq", 0x10100, false, true, true, true, true, false, true, true},
    {"hardirq over BH-off", 0x10200, false, true, false, true, true, false, true, true},
    {"nmi_enter", 0x110000, true, true, false, false, true, false, true, true},
    {"NMI bit alone", 0x100000, true, false, false, false, true, false, true, true},
    {"NMI over hardirq", 0x120000, true, true, false, false, true, false, true, true},
};
// clang-format on

TEST(PolicyPreemptCount, PredicatesOverInterestingCounts) {
  for (const PredicateRow& r : kRows) {
    SCOPED_TRACE(r.what);
    EXPECT_EQ(pb::exec::in_nmi(r.count), r.nmi);
    EXPECT_EQ(pb::exec::in_hardirq(r.count), r.hardirq);
    EXPECT_EQ(pb::exec::in_serving_softirq(r.count), r.serving_softirq);
    EXPECT_EQ(pb::exec::in_softirq(r.count), r.softirq);
    EXPECT_EQ(pb::exec::in_interrupt(r.count), r.interrupt);
    EXPECT_EQ(pb::exec::in_task(r.count), r.task);
    for (Model m : kModels) {
      const bool want_atomic = m == Model::kRt ? r.atomic_rt : r.atomic;
      EXPECT_EQ(pb::exec::in_atomic(r.count, m), want_atomic) << static_cast<int>(m);
      EXPECT_EQ(pb::exec::preemptible(r.count, false, m), !want_atomic) << static_cast<int>(m);
      EXPECT_FALSE(pb::exec::preemptible(r.count, true, m)) << static_cast<int>(m);
    }
  }
}

// Every single bit of the four fields, classified by the bit ranges of
// include/linux/preempt.h (0-7 PREEMPT, 8 serving softirq, 9-15 BH-disable multiples, 16-19
// HARDIRQ, 20-23 NMI).
TEST(PolicyPreemptCount, EverySingleBit) {
  for (int bit = 0; bit < 24; ++bit) {
    SCOPED_TRACE(bit);
    const uint32_t c = 1u << bit;
    const bool preempt = bit < 8;
    const bool serving = bit == 8;
    const bool bh = bit >= 9 && bit < 16;
    const bool hard = bit >= 16 && bit < 20;
    const bool nmi = bit >= 20;
    EXPECT_EQ(pb::exec::in_nmi(c), nmi);
    EXPECT_EQ(pb::exec::in_hardirq(c), hard);
    EXPECT_EQ(pb::exec::in_serving_softirq(c), serving);
    EXPECT_EQ(pb::exec::in_softirq(c), serving || bh);
    EXPECT_EQ(pb::exec::in_interrupt(c), !preempt);
    EXPECT_EQ(pb::exec::in_task(c), preempt || bh);
    EXPECT_EQ(pb::exec::preempt_count_bits(c), preempt ? c : 0u);
    for (Model m : kModels) {
      // Every bit makes the kernel's preempt_count() non-zero, except on RT
      // the softirq field, which is the task's BH count there.
      const bool atomic = !(m == Model::kRt && (serving || bh));
      EXPECT_EQ(pb::exec::in_atomic(c, m), atomic) << static_cast<int>(m);
      EXPECT_EQ(pb::exec::kernel_preempt_count(c, m), atomic ? c : 0u) << static_cast<int>(m);
    }
  }
  // Bits above 23 are outside the layout.
  EXPECT_EQ(pb::exec::kCountMask, 0x00ffffffu);
}

TEST(PolicyPreemptCount, KernelPreemptCountStripsOnlyRtBhField) {
  EXPECT_EQ(pb::exec::kernel_preempt_count(0x123456u, Model::kFull), 0x123456u);
  EXPECT_EQ(pb::exec::kernel_preempt_count(0x123456u, Model::kNone), 0x123456u);
  EXPECT_EQ(pb::exec::kernel_preempt_count(0x123456u, Model::kRt), 0x120056u);
}

// The kernel's entry paths, replayed on one word: each step is the offset the
// kernel adds, the predicates checked after it.
TEST(PolicyPreemptCount, EntrySequencesCompose) {
  uint32_t c = 0;
  c += pb::exec::kSoftirqDisableOffset;  // local_bh_disable()
  EXPECT_TRUE(pb::exec::in_task(c));
  EXPECT_TRUE(pb::exec::in_interrupt(c));
  EXPECT_FALSE(pb::exec::in_serving_softirq(c));
  c += pb::exec::kHardirqOffset;  // an interrupt arrives
  EXPECT_FALSE(pb::exec::in_task(c));
  EXPECT_TRUE(pb::exec::in_hardirq(c));
  c += pb::exec::kNmiEnterOffset;  // an NMI on top
  EXPECT_TRUE(pb::exec::in_nmi(c));
  EXPECT_EQ(pb::exec::hardirq_count(c), 0x20000u);
  c -= pb::exec::kNmiEnterOffset;
  c -= pb::exec::kHardirqOffset;
  c -= pb::exec::kSoftirqDisableOffset;
  EXPECT_EQ(c, 0u);
  // Softirq processing at irq exit: SOFTIRQ_OFFSET, then a handler's own
  // local_bh_disable() nests in it.
  c += pb::exec::kSoftirqOffset;
  c += pb::exec::kSoftirqDisableOffset;
  EXPECT_TRUE(pb::exec::in_serving_softirq(c));
  EXPECT_FALSE(pb::exec::in_task(c));
  EXPECT_EQ(pb::exec::softirq_count(c), 0x300u);
}

static_assert(pb::exec::in_task(0x200) && !pb::exec::in_task(0x100),
              "in_task: BH disabled is task context, serving a softirq is not");
static_assert(pb::exec::preemptible(0x200, false, Model::kRt) &&
                  !pb::exec::preemptible(0x200, false, Model::kFull),
              "BH-disabled sections are preemptible on RT only");

}  // namespace
