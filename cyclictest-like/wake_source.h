// Wakeup sources: one per --mode. A source is created and set up on the main
// thread (where allocation is allowed), started and waited on by its
// measuring thread only; start() and wait() allocate nothing, take no lock
// and never throw.
#pragma once

#include <sched.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "options.h"

namespace pb::cyclic {

// One wakeup: when it was due, when the thread ran, and how many periods
// passed with no wakeup at all (a late wakeup that overran later periods).
struct Wakeup {
  int64_t expected_ns = 0;  // the release time this wakeup answers
  int64_t woke_ns = 0;      // the clock (-c) read first thing after waking
  uint64_t missed = 0;      // whole periods skipped after this one
};

class WakeSource {
 public:
  virtual ~WakeSource() = default;

  // Prepares kernel objects. Called on the main thread before mlockall and
  // before the measuring thread exists. Returns 0 or -errno.
  virtual int prepare() noexcept { return 0; }

  // Called once on the measuring thread, after it switched to its policy.
  // `first_ns` is the first release time, on the source's clock.
  // Returns 0 or -errno.
  virtual int start(int64_t first_ns, int64_t interval_ns) noexcept = 0;

  // Blocks until the next release. Returns 0 with *w filled, -EINTR when a
  // signal (the stop kick) interrupted the wait, or another -errno.
  virtual int wait(Wakeup* w) noexcept = 0;

  // Unblocks a thread sleeping in wait(): called from any thread at stop.
  virtual void stop() noexcept {}

  // Called on the measuring thread after its loop ended. Joins helpers.
  virtual void finish() noexcept {}
};

// What a source needs to know. `cpu`, `policy` and `priority` are the
// measuring thread's; the futex mode uses them to place its waker thread.
struct SourceConfig {
  Mode mode = Mode::kNanosleep;
  clockid_t clock = CLOCK_MONOTONIC;  // -c: every time a source uses and reports
  // nanosleep mode only: -r sleeps one interval from each wakeup with
  // clock_nanosleep(TIMER_RELTIME), -s with nanosleep(2) (cyclictest's
  // "sys_nanosleep"). Latency then counts from the moment before the sleep
  // plus the interval, and no period is ever missed.
  bool relative = false;
  bool system_sleep = false;
  int cpu = -1;
  int policy = SCHED_OTHER;
  int priority = 0;
};

std::unique_ptr<WakeSource> make_wake_source(const SourceConfig& config);

// clock_nanosleep(TIMER_ABSTIME) on `clock`. Returns 0 or -errno (-EINTR when
// a signal interrupted it; not retried).
int sleep_until(clockid_t clock, int64_t deadline_ns) noexcept;

// The signal the stop path sends to measuring threads to interrupt a wait
// (a real-time signal with an empty handler, installed without SA_RESTART).
int stop_kick_signal() noexcept;
// Installs the empty handler. Idempotent; call on the main thread.
void install_stop_kick_handler() noexcept;

// Advances the next release time `next` by whole periods until it is no
// longer before `now`, as cyclictest does after each wakeup — but returns how
// many releases were skipped instead of dropping them silently. A release
// exactly at `now` is not skipped.
inline uint64_t skip_missed(int64_t* next, int64_t now, int64_t interval) noexcept {
  if (*next >= now) return 0;
  const uint64_t n = static_cast<uint64_t>((now - *next) / interval);
  *next += static_cast<int64_t>(n) * interval;
  if (*next < now) {
    *next += interval;
    return n + 1;
  }
  return n;
}

}  // namespace pb::cyclic
