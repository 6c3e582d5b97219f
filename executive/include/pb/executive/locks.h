// The emulated kernel's locks, as objects a workload owns (like Completion):
// raw_spinlock_t, spinlock_t, struct mutex and struct rt_mutex, plus per-CPU
// variables. They are taken and released through TaskApi (raw_spin_lock(),
// spin_lock(), mutex_lock(), rt_mutex_lock(), get_cpu(), ...), which applies
// what each model does with them (policy.h lock_impl()):
//
//   type          NONE/VOLUNTARY/FULL/LAZY           RT
//   RawSpinlock   spins, preempt_disable()           spins, preempt_disable()
//   Spinlock      spins, preempt_disable()           sleeping PI lock (rt_mutex), preemptible
//   Mutex         sleeping, plain futex, no PI       sleeping PI lock (rt_mutex)
//   RtMutex       sleeping PI lock                   sleeping PI lock
//
// Mechanism. Every lock is one 32-bit word holding the owner's host TID (0 =
// free), so the same object serves every model of a sweep:
// - spinning: compare-and-swap 0 -> TID with the holder atomic; a waiter on
//   another vCPU spins (it takes interrupts meanwhile, as a spinning CPU does);
// - sleeping PI (rt_mutex): the PI-futex TID protocol (futex(2)): a user-space
//   CAS fast path; on contention the waiter mirrors the boost in the executive
//   (the owner's emulated priority is raised to the waiter's, so the emulated
//   scheduler picks it over middle-priority work), gives its vCPU away and
//   blocks in FUTEX_LOCK_PI, where the host kernel boosts the owner's thread;
//   FUTEX_UNLOCK_PI hands the lock to the top host waiter, whose thread then
//   makes itself runnable on its vCPU (an IPI to the vCPU's current task);
// - sleeping without PI (mutex off RT): the same shape over FUTEX_WAIT /
//   FUTEX_WAKE with a waiters bit; no boost anywhere.
//
// Contract. A lock object must outlive every run that uses it and may be
// reused by a later run once no task holds it. Locks are taken only from task
// context (not from interrupt work). A task holds at most kMaxHeldLocks
// sleeping locks at once. Lock and unlock of sleeping locks return early
// (lock returning false, without the lock) once the run is stopping.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace pb::exec {

class TaskApi;
namespace detail {
struct Task;
struct LockAccess;
}  // namespace detail

// Sleeping locks held at once by one task (nesting depth).
inline constexpr int kMaxHeldLocks = 8;
// vCPUs a PerCpu<T> has slots for.
inline constexpr int kMaxVcpus = 64;

// What happened to one lock in a run. Updated by the tasks using it.
struct LockStats {
  uint64_t acquisitions = 0;
  uint64_t contentions = 0;  // the fast path failed: the task spun or slept
  uint64_t pi_boosts = 0;    // a waiter raised the owner's emulated priority
  int64_t max_wait_ns = 0;   // longest contended acquisition
};

namespace detail {
// The state every lock type shares. Not used directly.
class LockBase {
 public:
  explicit LockBase(const char* name) noexcept : name_(name) {}
  LockBase(const LockBase&) = delete;
  LockBase& operator=(const LockBase&) = delete;

  const char* name() const noexcept { return name_; }
  // The owner's host TID, 0 when free (FUTEX_WAITERS and other bits masked).
  uint32_t owner_tid() const noexcept {
    return word_.load(std::memory_order_relaxed) & 0x3fffffffu;
  }
  // Valid after the run (tasks write it during the run).
  LockStats stats() const noexcept;
  void reset_stats() noexcept;

 private:
  friend struct detail::LockAccess;
  friend class pb::exec::TaskApi;         // the inline raw_spin_lock fast path
  std::atomic<uint32_t> word_{0};         // owner TID | FUTEX_WAITERS (sleeping locks)
  std::atomic<uint32_t> wait_lock_{0};    // guards the executive's view below
  Task* waiters_ = nullptr;               // registered sleepers, highest priority first
  std::atomic<int> top_prio_{-1};         // the first waiter's effective priority, -1 if none
  std::atomic<uint64_t> lockdep_key_{0};  // (run << 8) | class index, cached by lockdep
  const char* name_;
  std::atomic<uint64_t> acquisitions_{0};
  std::atomic<uint64_t> contentions_{0};
  std::atomic<uint64_t> pi_boosts_{0};
  std::atomic<int64_t> max_wait_ns_{0};
};
}  // namespace detail

// raw_spinlock_t: spins in every model; holding it disables preemption.
class RawSpinlock : public detail::LockBase {
 public:
  explicit RawSpinlock(const char* name = "raw_spinlock") noexcept : LockBase(name) {}
};

// spinlock_t: a RawSpinlock off RT; a sleeping PI lock on RT (preemptible
// holder, rcu_read_lock() held, as spinlock_rt.c).
class Spinlock : public detail::LockBase {
 public:
  explicit Spinlock(const char* name = "spinlock") noexcept : LockBase(name) {}
};

// struct mutex: a plain futex mutex without priority inheritance off RT; an
// rt_mutex on RT.
class Mutex : public detail::LockBase {
 public:
  explicit Mutex(const char* name = "mutex") noexcept : LockBase(name) {}
};

// struct rt_mutex: a sleeping lock with priority inheritance in every model.
class RtMutex : public detail::LockBase {
 public:
  explicit RtMutex(const char* name = "rt_mutex") noexcept : LockBase(name) {}
};

// A per-CPU variable (DEFINE_PER_CPU): one slot per vCPU. A task reaches its
// own vCPU's slot with TaskApi::get_cpu() (preemption off) or inside
// local_irq_save(); this_cpu() does not protect against the local interrupt
// handler, exactly as the kernel's get_cpu() does not.
template <typename T>
class PerCpu {
 public:
  T& on(int vcpu) noexcept { return slots_[static_cast<size_t>(vcpu)].value; }
  const T& on(int vcpu) const noexcept { return slots_[static_cast<size_t>(vcpu)].value; }

 private:
  struct alignas(64) Slot {
    T value{};
  };
  std::array<Slot, kMaxVcpus> slots_{};
};

}  // namespace pb::exec
