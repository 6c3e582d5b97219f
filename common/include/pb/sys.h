// Thin syscall layer. Every wrapper returns a non-negative value on success
// or -errno on failure, never throws and never allocates, so any of them may
// be called from a real-time path; the ones marked async-signal-safe may be
// called from a signal handler. EINTR is retried here, in one place, only by
// the wrappers whose contract says so.
#pragma once

#include <sched.h>
#include <sys/types.h>
#include <time.h>

#include <atomic>
#include <cstdint>

namespace pb::sys {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t),
              "std::atomic<uint32_t> must be bitwise the int SYS_futex expects");

inline constexpr int64_t kNsPerSec = 1'000'000'000;

// --- clocks -----------------------------------------------------------------

// CLOCK_MONOTONIC in nanoseconds. Async-signal-safe (vDSO).
int64_t now_ns() noexcept;
int64_t clock_ns(clockid_t clock) noexcept;
timespec to_timespec(int64_t ns) noexcept;
inline int64_t to_ns(const timespec& ts) noexcept {
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

// Sleeps until the absolute CLOCK_MONOTONIC instant `deadline_ns`.
// Returns 0, or -EINTR when a signal interrupted the sleep (not retried: the
// caller decides whether a signal ends its loop).
int sleep_until_ns(int64_t deadline_ns) noexcept;

// --- threads and scheduling -------------------------------------------------

pid_t gettid() noexcept;
// Sends `sig` to thread `tid` of this process. Async-signal-safe.
int tgkill(pid_t tid, int sig) noexcept;
// Sets policy and priority of `tid` (0 = calling thread).
int set_scheduler(pid_t tid, int policy, int priority) noexcept;
// Scheduling policy of `tid` (0 = calling thread): SCHED_* (the normal
// policy, not one raised by priority inheritance), with its RT priority in
// *priority when not null.
int get_scheduler(pid_t tid, int* priority) noexcept;
// The nice value of `tid` (0 = calling thread), -20..19.
int set_nice(pid_t tid, int nice) noexcept;
// What the host's scheduler accounted to thread `tid` of this process
// (/proc/self/task/TID/schedstat): time on a CPU and time waiting on a
// runqueue while runnable, in ns. Returns 0, or -errno (-ENOENT when the
// kernel keeps no schedstat). No allocation: open, read, close.
struct ThreadSchedStat {
  int64_t run_ns = 0;
  int64_t wait_ns = 0;
};
int read_thread_schedstat(pid_t tid, ThreadSchedStat* out) noexcept;
// The nice value of this process's autogroup (/proc/self/autogroup; with
// kernel.sched_autogroup_enabled, CFS first divides a CPU between the
// sessions' autogroups by these values, then within each by the tasks'
// own nice values). Puts it (-20..19) in *nice and returns 0, or -errno
// (-ENOENT without autogroups). set_autogroup_nice() writes it (lowering
// needs CAP_SYS_NICE).
int get_autogroup_nice(int* nice) noexcept;
int set_autogroup_nice(int nice) noexcept;
// Pins `tid` (0 = calling thread) to one CPU.
int pin_to_cpu(pid_t tid, int cpu) noexcept;
int set_affinity(pid_t tid, const cpu_set_t& set) noexcept;
int get_affinity(pid_t tid, cpu_set_t* set) noexcept;
// CPU the calling thread runs on now.
int current_cpu() noexcept;
int lock_all_memory() noexcept;  // mlockall(MCL_CURRENT | MCL_FUTURE)

// Returns 1 when this process may use SCHED_FIFO at `priority`, 0 when not,
// without changing the calling thread's policy (probes a short-lived thread).
int can_use_fifo(int priority) noexcept;

// --- futexes ------------------------------------------------------------------

// Waits while *word == expected. Returns 0 when woken, -EAGAIN when the value
// differed, -EINTR on a signal, -ETIMEDOUT when `abs_deadline_ns` (CLOCK_MONOTONIC,
// 0 = none) passed. Private futex. Async-signal-safe.
int futex_wait(std::atomic<uint32_t>* word, uint32_t expected,
               int64_t abs_deadline_ns = 0) noexcept;
// Wakes up to `count` waiters; returns how many were woken. Async-signal-safe.
int futex_wake(std::atomic<uint32_t>* word, int count) noexcept;
// PI-futex operations on the TID protocol (see futex(2)). lock_pi retries EINTR.
int futex_lock_pi(std::atomic<uint32_t>* word) noexcept;
// The same with a CLOCK_MONOTONIC deadline: -ETIMEDOUT when it passed,
// -EDEADLK when the caller already owns the word.
int futex_lock_pi_until(std::atomic<uint32_t>* word, int64_t abs_deadline_ns) noexcept;
int futex_trylock_pi(std::atomic<uint32_t>* word) noexcept;
int futex_unlock_pi(std::atomic<uint32_t>* word) noexcept;

}  // namespace pb::sys
