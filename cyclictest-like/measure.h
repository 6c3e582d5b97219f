// The measuring run: one thread per ThreadPlan, each waiting on its wakeup
// source and recording latency = (time it ran) - (time it was due).
//
// Everything a measuring thread touches is allocated by prepare() on the
// calling thread, before mlockall and before any thread switches to a
// real-time policy. The measuring loop allocates nothing, takes no lock and
// does no I/O: it writes its own histogram and publishes live figures through
// relaxed atomics that the main thread only reads.
//
// Missed periods (coordinated omission): a wakeup that comes so late that
// later releases have already passed is recorded once, with its full
// latency, and the releases it overran are counted in `missed` — no
// synthetic samples are added, no burst of catch-up wakeups follows (the
// next release is the first one still in the future, as in cyclictest).
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "options.h"
#include "pb/histogram.h"
#include "wake_source.h"

namespace pb::cyclic {

// Live figures of one measuring thread. Single writer (that thread); the
// main thread reads them for the progress display. Own cache line each.
struct alignas(64) LiveStats {
  std::atomic<int> tid{0};
  std::atomic<uint64_t> cycles{0};
  std::atomic<uint64_t> missed{0};
  std::atomic<int64_t> min_ns{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> act_ns{0};
  std::atomic<int64_t> max_ns{0};
  std::atomic<int64_t> sum_ns{0};
};

// One thread's outcome: a value type, copied out after the thread ended.
struct ThreadResult {
  ThreadPlan plan;
  int tid = 0;
  int node = 0;                 // NUMA node of plan.cpu (0 when unknown)
  uint64_t cycles = 0;
  uint64_t missed = 0;
  int64_t min_ns = 0;
  int64_t max_ns = 0;
  int64_t act_ns = 0;
  int64_t sum_ns = 0;
  LatencyHistogram histogram;   // every sample, log-linear, ns
  // cyclictest's -h histogram: `linear[i]` counts latencies of i units
  // (us, or ns with -N); larger ones are overflows, with the cycle numbers
  // of the first linear.size() of them kept.
  std::vector<uint64_t> linear;
  uint64_t linear_overflow = 0;
  std::vector<uint64_t> overflow_cycles;
  int error = 0;                // -errno if the thread failed
  std::string error_where;      // which step failed

  double avg_ns() const { return cycles ? static_cast<double>(sum_ns) / static_cast<double>(cycles) : 0.0; }
};

enum class StopReason { kNone, kDuration, kLoops, kSignal, kBreak, kError };

struct RunResult {
  std::vector<ThreadResult> threads;
  int64_t start_wall_s = 0;     // time(2) at start and end
  int64_t end_wall_s = 0;
  int64_t elapsed_ns = 0;
  StopReason stop = StopReason::kNone;
  bool partial = false;         // ended by a signal or an error before its end
  int break_thread = -1;        // -b: which thread crossed the threshold
  int64_t break_value_ns = 0;
};

// The shutdown request the signal handler sets (async-signal-safe: a
// lock-free atomic store).
std::atomic<int>& stop_signal_flag() noexcept;
void install_stop_signal_handlers() noexcept;

class Measurement {
 public:
  explicit Measurement(const Options& opts, std::vector<ThreadPlan> plans);
  ~Measurement();
  Measurement(const Measurement&) = delete;
  Measurement& operator=(const Measurement&) = delete;

  // Allocates every thread's state and prepares the wakeup sources.
  // Returns 0 or -errno with *error set.
  int prepare(std::string* error);

  // Starts the threads; returns 0 or -errno with *error set (e.g. EPERM for
  // a real-time policy without privilege). On failure no thread is left.
  int start(std::string* error);

  // Live figures, index-aligned with the plans; valid after prepare().
  const LiveStats& live(size_t i) const;
  size_t size() const;

  // True once a thread asked the run to end (loops reached, -b crossed, or
  // it failed).
  bool thread_requested_stop() const;

  // Stops (kicks and joins) every thread and returns the results.
  RunResult finish(StopReason reason, int64_t elapsed_ns);

 private:
  struct ThreadState;
  static void* thread_main(void* arg);
  void loop(ThreadState& t);

  Options opts_;
  std::vector<ThreadPlan> plans_;
  std::vector<std::unique_ptr<ThreadState>> threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> stop_request_{0};   // StopReason set by a thread
  std::atomic<int> break_thread_{-1};
  std::atomic<int64_t> break_value_{0};
  int64_t start_ns_ = 0;
};

}  // namespace pb::cyclic
