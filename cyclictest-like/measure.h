// The measuring run: one thread per ThreadPlan, each waiting on its wakeup
// source and recording latency = (time it ran) - (time it was due).
//
// Everything a measuring thread touches is allocated by prepare() on the
// calling thread, before mlockall and before any thread switches to a
// real-time policy. The measuring loop allocates nothing, takes no lock and
// does no I/O (the one exception: with -b and --tracemark, the sample that
// ends the run writes the trace mark): it writes its own histograms and
// publishes live figures (and, with -v, each sample) through relaxed atomics
// that the main thread only reads.
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
// main thread reads them for the live display, the status signals and -F.
// Own cache line each.
struct alignas(64) LiveStats {
  std::atomic<int> tid{0};
  std::atomic<uint64_t> cycles{0};
  std::atomic<uint64_t> missed{0};
  std::atomic<int64_t> min_ns{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> act_ns{0};
  std::atomic<int64_t> max_ns{0};
  std::atomic<int64_t> sum_ns{0};
};

// One thread's outcome: a value type, moved out after the thread ended.
struct ThreadResult {
  ThreadPlan plan;
  int tid = 0;
  int node = 0;  // NUMA node of plan.cpu (0 when unknown)
  uint64_t cycles = 0;
  uint64_t missed = 0;
  int64_t min_ns = 0;
  int64_t max_ns = 0;
  int64_t act_ns = 0;
  int64_t sum_ns = 0;
  LatencyHistogram histogram;  // every sample, log-linear, ns
  // cyclictest's -h histogram: `linear[i]` counts latencies of i units
  // (us, or ns with -N); larger ones are overflows, with the cycle numbers
  // of the first linear.size() of them kept.
  std::vector<uint64_t> linear;
  uint64_t linear_overflow = 0;
  std::vector<uint64_t> overflow_cycles;
  int error = 0;            // -errno if the thread failed
  std::string error_where;  // which step failed

  double avg_ns() const {
    return cycles ? static_cast<double>(sum_ns) / static_cast<double>(cycles) : 0.0;
  }
};

// --spike: one latency above the trigger.
struct Spike {
  int thread = 0;
  int64_t latency_ns = 0;
  int64_t at_ns = 0;  // when the thread woke, on the run's clock
};

enum class StopReason { kNone, kDuration, kLoops, kSignal, kBreak, kError };

struct RunResult {
  std::vector<ThreadResult> threads;
  int64_t start_wall_s = 0;  // time(2) at start and end
  int64_t end_wall_s = 0;
  int64_t elapsed_ns = 0;
  StopReason stop = StopReason::kNone;
  bool partial = false;   // ended by a signal or an error before its end
  int break_thread = -1;  // -b: which thread crossed the threshold
  int64_t break_value_ns = 0;
  std::vector<Spike> spikes;  // --spike: the first --spike-nodes of them
  uint64_t spike_count = 0;   // all of them
};

// --- signals ------------------------------------------------------------------
// The handlers only store to lock-free atomics and wake the main thread
// through a futex (both async-signal-safe); the main loop does the I/O.

// The signal that asked the run to end (SIGINT, SIGTERM, SIGHUP), or 0.
std::atomic<int>& stop_signal_flag() noexcept;
// Set by SIGUSR1 (print the status on stderr) and SIGUSR2 (write the status
// file); the main loop takes them with exchange(0).
std::atomic<int>& status_request_flag() noexcept;
std::atomic<int>& snapshot_request_flag() noexcept;
// Bumped (and futex-woken) by every handler and by a measuring thread that
// ends the run, so the main thread can sleep on it without missing either.
std::atomic<uint32_t>& main_wake_word() noexcept;
// Installs the handlers: SIGINT, SIGTERM, SIGHUP end the run cleanly;
// SIGUSR1, SIGUSR2 request a status; SIGALRM is absorbed (cyclictest keeps
// it blocked, so it survives it). Also the stop kick's empty handler.
void install_signal_handlers() noexcept;

class Measurement {
 public:
  // Samples kept for -v between two reads by the main thread (cyclictest's
  // VALBUF_SIZE).
  static constexpr uint64_t kValueRing = 16384;

  explicit Measurement(const Options& opts, std::vector<ThreadPlan> plans);
  ~Measurement();
  Measurement(const Measurement&) = delete;
  Measurement& operator=(const Measurement&) = delete;

  // Allocates every thread's state and prepares the wakeup sources.
  // Returns 0 or -errno with *error set.
  int prepare(std::string* error);

  // --tracemark: the trace_marker and tracing_on files (kept open; -1 when
  // absent). Set before start().
  void set_trace_files(int marker_fd, int tracing_on_fd) noexcept;

  // Starts the threads; returns 0 or -errno with *error set (e.g. EPERM for
  // a real-time policy without privilege). On failure no thread is left.
  int start(std::string* error);

  // Live figures, index-aligned with the plans; valid after prepare().
  const LiveStats& live(size_t i) const;
  size_t size() const;

  // -v: the sample of thread i's cycle `cycle` (0-based), in the output
  // unit. Valid while live(i).cycles - cycle <= kValueRing.
  int64_t value(size_t i, uint64_t cycle) const;

  // True once a thread asked the run to end (loops reached, -b crossed, or
  // it failed).
  bool thread_requested_stop() const;

  // Stops (kicks and joins) every thread and returns the results.
  RunResult finish(StopReason reason, int64_t elapsed_ns);

 private:
  struct ThreadState;
  static void* thread_main(void* arg);
  void loop(ThreadState& t);
  bool wait_for_alignment(int64_t* base_ns);
  void request_stop(StopReason why);

  Options opts_;
  std::vector<ThreadPlan> plans_;
  std::vector<std::unique_ptr<ThreadState>> threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> stop_request_{0};  // StopReason set by a thread
  std::atomic<int> break_thread_{-1};
  std::atomic<int64_t> break_value_{0};
  // -A / --secaligned: threads meet here before their first release.
  std::atomic<uint32_t> align_arrived_{0};
  std::atomic<uint32_t> align_go_{0};
  int64_t align_base_ns_ = 0;
  // --spike
  std::vector<Spike> spikes_;
  std::atomic<uint64_t> spike_count_{0};
  int trace_marker_fd_ = -1;
  int tracing_on_fd_ = -1;
};

}  // namespace pb::cyclic
