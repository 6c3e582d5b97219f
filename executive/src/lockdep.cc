// lockdep-lite: the kernel's lock validator reduced to what a workload can
// get wrong (lockdep-design.rst): classes, not instances (here: locks with
// the same name are one class); an edge A -> B when B is taken while A is
// held; a report when a new edge closes a cycle of any length ("possible
// circular locking dependency detected", an AB-BA inversion even if the
// run never deadlocked); a report when one class is taken both with IRQs
// soft-disabled and with IRQs enabled ("inconsistent lock state" — stricter
// than the kernel, which only objects when one of the two is interrupt
// context, since the emulation takes locks only from task context); and
// "lock held when returning to user space!".
//
// Cost: nothing unless Config::lockdep. Then, per acquisition, a class
// lookup cached in the lock object, one relaxed load per held lock, and the
// graph lock only when an edge or a usage bit is new. Never allocates.
#include <cstdio>
#include <cstring>

#include "internal.h"

namespace pb::exec::detail {
namespace {

// The lock's class index for this run, registering it on first use; -1 when
// the table is full.
int class_of_lock(Task* t, LockBase& l) noexcept {
  Lockdep& ld = t->ex->lockdep;
  auto& key = LockAccess::lockdep_key(l);
  const uint64_t k = key.load(std::memory_order_acquire);
  if ((k >> 8) == ld.run) return static_cast<int>(k & 0xff);
  const char* name = l.name();
  ld.lock.lock();
  int idx = -1;
  for (int i = 0; i < ld.n; ++i) {
    if (ld.names[static_cast<size_t>(i)] == name ||
        std::strcmp(ld.names[static_cast<size_t>(i)], name) == 0) {
      idx = i;
      break;
    }
  }
  if (idx < 0 && ld.n < kLockdepClasses) {
    idx = ld.n++;
    ld.names[static_cast<size_t>(idx)] = name;
  } else if (idx < 0) {
    ld.overflow = true;
  }
  ld.lock.unlock();
  if (idx >= 0) key.store((ld.run << 8) | static_cast<uint64_t>(idx), std::memory_order_release);
  return idx;
}

// Is `to` reachable from `from` over the edges? Breadth-first over bitsets;
// under the graph lock.
bool reachable(const Lockdep& ld, int from, int to) noexcept {
  uint64_t seen = uint64_t{1} << from;
  uint64_t frontier = seen;
  while (frontier != 0) {
    uint64_t next = 0;
    for (uint64_t f = frontier; f != 0; f &= f - 1) {
      const int a = __builtin_ctzll(f);
      next |= ld.after[static_cast<size_t>(a)].load(std::memory_order_relaxed);
    }
    if ((next >> to) & 1u) return true;
    frontier = next & ~seen;
    seen |= next;
  }
  return false;
}

}  // namespace

void lockdep_before_slow(Task* t, LockBase& l) noexcept {
  if (!t->ex->cfg.lockdep || t->n_held_classes == 0) return;
  const int b = class_of_lock(t, l);
  if (b < 0) return;
  Lockdep& ld = t->ex->lockdep;
  for (int i = 0; i < t->n_held_classes; ++i) {
    const int a = t->held_classes[static_cast<size_t>(i)];
    if (a == b) continue;  // recursion on one class: not reported (nesting annotations)
    const uint64_t bit = uint64_t{1} << b;
    if ((ld.after[static_cast<size_t>(a)].load(std::memory_order_relaxed) & bit) != 0) continue;
    const uint32_t irqs = irq_save(t);
    ld.lock.lock();
    // The new edge a -> b closes a cycle if a is already reachable from b.
    const bool cycle = reachable(ld, b, a);
    bool report = false;
    if (cycle && ((ld.cycle_reported[static_cast<size_t>(a)] >> b) & 1u) == 0) {
      ld.cycle_reported[static_cast<size_t>(a)] |= bit;
      ld.cycle_reported[static_cast<size_t>(b)] |= uint64_t{1} << a;
      report = true;
    }
    ld.after[static_cast<size_t>(a)].fetch_or(bit, std::memory_order_relaxed);
    ld.lock.unlock();
    irq_restore_noreplay(t, irqs);
    if (report) {
      ++t->v->stats.lockdep_cycles;
      char buf[512];
      std::snprintf(buf, sizeof(buf),
                    "WARNING: possible circular locking dependency detected\n"
                    "%s/%d is trying to acquire lock:\n  (%s)\n"
                    "but task is already holding lock:\n  (%s)\n"
                    "which lock already depends on the new lock.\n",
                    t->name, static_cast<int>(t->tid), ld.names[static_cast<size_t>(b)],
                    ld.names[static_cast<size_t>(a)]);
      debug_report(t, buf);
    }
  }
}

void lockdep_acquired_slow(Task* t, LockBase& l) noexcept {
  if (!t->ex->cfg.lockdep) return;
  const int c = class_of_lock(t, l);
  if (c < 0) return;
  if (t->n_held_classes < static_cast<int>(t->held_classes.size())) {
    t->held_classes[static_cast<size_t>(t->n_held_classes++)] = static_cast<uint8_t>(c);
  }
  Lockdep& ld = t->ex->lockdep;
  const uint8_t bit = t->irqs_disabled.load(std::memory_order_relaxed) != 0 ? 1 : 2;
  auto& usage = ld.usage[static_cast<size_t>(c)];
  const uint8_t before = usage.fetch_or(bit, std::memory_order_relaxed);
  if ((before & bit) == 0 && (before | bit) == 3) {
    ++t->v->stats.lockdep_inconsistent;
    char buf[512];
    std::snprintf(buf, sizeof(buf),
                  "WARNING: inconsistent lock state\n"
                  "inconsistent {IRQS-%s} -> {IRQS-%s} usage.\n"
                  "%s/%d takes (%s) with interrupts %s; it was taken with interrupts %s before.\n",
                  bit == 1 ? "ON" : "OFF", bit == 1 ? "OFF" : "ON", t->name,
                  static_cast<int>(t->tid), ld.names[static_cast<size_t>(c)],
                  bit == 1 ? "disabled" : "enabled", bit == 1 ? "enabled" : "disabled");
    debug_report(t, buf);
  }
}

void lockdep_released_slow(Task* t, LockBase& l) noexcept {
  if (!t->ex->cfg.lockdep || t->n_held_classes == 0) return;
  const uint64_t k = LockAccess::lockdep_key(l).load(std::memory_order_acquire);
  if ((k >> 8) != t->ex->lockdep.run) return;
  const auto c = static_cast<uint8_t>(k & 0xff);
  for (int i = t->n_held_classes - 1; i >= 0; --i) {
    if (t->held_classes[static_cast<size_t>(i)] != c) continue;
    for (int j = i; j + 1 < t->n_held_classes; ++j) {
      t->held_classes[static_cast<size_t>(j)] = t->held_classes[static_cast<size_t>(j + 1)];
    }
    --t->n_held_classes;
    return;
  }
}

void lockdep_user_return(Task* t) noexcept {
  if (!t->ex->cfg.lockdep || t->n_held_classes == 0) return;
  ++t->v->stats.lockdep_held_at_exit;
  char buf[384];
  std::snprintf(buf, sizeof(buf),
                "WARNING: lock held when returning to user space!\n"
                "%s/%d is leaving the kernel with locks still held!\n"
                "%d lock(s) held, the last taken: (%s)\n",
                t->name, static_cast<int>(t->tid), t->n_held_classes,
                t->ex->lockdep.names[t->held_classes[static_cast<size_t>(t->n_held_classes - 1)]]);
  debug_report(t, buf);
}

}  // namespace pb::exec::detail
