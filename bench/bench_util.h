// Helpers shared by the pb-micro benchmarks: where to measure, how to run a
// piece of a benchmark on a pinned thread at a given policy, and how latency
// histograms become Google Benchmark counters.
//
// Machine-safety contract every benchmark here follows:
//  - Real-time threads run only on the measuring CPU (the LAST allowed CPU);
//    the other CPUs are left to the system. A thread on another CPU runs at
//    SCHED_OTHER and blocks or sleeps, it never spins.
//  - A benchmark that wants SCHED_FIFO asks choose_rt_sched() first: when the
//    process may not use it, the benchmark still runs at SCHED_OTHER and its
//    label says "no SCHED_FIFO: ...", so the figures are never mistaken for
//    real-time ones.
//  - Iteration counts are fixed (->Iterations(N)) or bounded by Google
//    Benchmark's own limits, and every thread started here is joined before
//    the benchmark function returns.
//
// Header-only: bench/ is one executable whose sources are a glob of
// *_benchmark.cc, so shared code lives in inline functions.
#pragma once

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

#include <benchmark/benchmark.h>

#include "pb/histogram.h"
#include "pb/sys.h"

namespace pb::bench {

// Host SCHED_FIFO priority of the measuring threads: the midpoint, high
// enough to beat every SCHED_OTHER thread, below the kernel's own FIFO 99
// threads (migration, watchdogs) and typical irq threads (FIFO 50 ties
// with them, which is the PREEMPT_RT default the executive emulates).
inline constexpr int kRtPriority = 50;

// --- fatal errors ---------------------------------------------------------------

// For errors that cannot happen with valid arguments (timer_settime on a live
// timer, tgkill to a live thread of this process): a raw message and abort().
// Async-signal-safe (write + abort), allocation-free.
[[noreturn]] inline void fatal(const char* what, int err) noexcept {
  char buf[160];
  size_t n = 0;
  auto put = [&](const char* s) {
    while (*s != '\0' && n < sizeof(buf) - 1) buf[n++] = *s++;
  };
  put("pb-micro: fatal: ");
  put(what);
  put(": errno ");
  char digits[12];
  int d = 0;
  unsigned v = err < 0 ? static_cast<unsigned>(-err) : static_cast<unsigned>(err);
  do {
    digits[d++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && d < 11);
  while (d > 0 && n < sizeof(buf) - 1) buf[n++] = digits[--d];
  buf[n++] = '\n';
  [[maybe_unused]] const ssize_t w = ::write(STDERR_FILENO, buf, n);
  std::abort();
}

// --- CPUs and policies -------------------------------------------------------------

struct CpuChoice {
  int measuring = -1;  // last CPU in the process's affinity mask
  int other = -1;      // lowest allowed CPU other than `measuring`; -1 when none
};

// Reads the calling thread's affinity mask (call it from the benchmark
// function, i.e. the benchmark's main thread). measuring is -1 only when
// the mask cannot be read.
inline CpuChoice pick_cpus() noexcept {
  CpuChoice c;
  cpu_set_t set;
  if (sys::get_affinity(0, &set) < 0) return c;
  for (int cpu = CPU_SETSIZE - 1; cpu >= 0; --cpu) {
    if (CPU_ISSET(cpu, &set)) {
      c.measuring = cpu;
      break;
    }
  }
  for (int cpu = 0; cpu < c.measuring; ++cpu) {
    if (CPU_ISSET(cpu, &set)) {
      c.other = cpu;
      break;
    }
  }
  return c;
}

// A host scheduling policy and priority (priority 0 for SCHED_OTHER).
struct Sched {
  int policy = SCHED_OTHER;
  int priority = 0;
  bool is_rt() const noexcept { return policy == SCHED_FIFO || policy == SCHED_RR; }
};

inline constexpr Sched kOther{SCHED_OTHER, 0};

// SCHED_FIFO at `priority` when the process may use it (sys::can_use_fifo),
// otherwise SCHED_OTHER, with the reason in the benchmark's label
// ("no SCHED_FIFO: ..."). Call once per benchmark run, before the loop.
inline Sched choose_rt_sched(benchmark::State& state, int priority = kRtPriority) {
  const int ok = sys::can_use_fifo(priority);
  if (ok == 1) return Sched{SCHED_FIFO, priority};
  if (ok == 0) {
    state.SetLabel("no SCHED_FIFO: not permitted here; measured at SCHED_OTHER");
  } else {
    state.SetLabel(std::string("no SCHED_FIFO: probe failed (") + std::strerror(-ok) +
                   "); measured at SCHED_OTHER");
  }
  return kOther;
}

// --- pinned threads ------------------------------------------------------------------

// One thread, pinned and scheduled before it runs its function.
//
// The thread starts with every blockable signal blocked (a benchmark's
// receiving thread unblocks its own signal, e.g. through sigsuspend with
// all_blocked_except()), pins itself to `cpu` first and only then takes
// `sched`, so it never runs real-time on a CPU it was not meant for.
// start() returns once that setup is done: 0 and fn runs, or -errno and fn
// never runs (the thread is already joined).
//
// Not movable: the running thread refers to this object. The destructor
// joins, so a PinnedThread on the stack cannot leave a thread behind — but
// it waits for fn to return, so fn must terminate by itself.
class PinnedThread {
 public:
  PinnedThread() = default;
  PinnedThread(const PinnedThread&) = delete;
  PinnedThread& operator=(const PinnedThread&) = delete;
  ~PinnedThread() { join(); }

  // cpu < 0 leaves the affinity alone. REQUIRES: not started, or joined.
  int start(int cpu, Sched sched, std::function<void()> fn) noexcept {
    if (running_) return -EBUSY;
    cpu_ = cpu;
    sched_ = sched;
    fn_ = std::move(fn);
    setup_done_.store(0, std::memory_order_relaxed);
    setup_rc_ = 0;
    tid_ = 0;

    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    const int rc = ::pthread_create(&thread_, nullptr, &PinnedThread::trampoline, this);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (rc != 0) return -rc;
    running_ = true;

    // Blocks (never spins) until the thread has applied cpu and sched.
    while (setup_done_.load(std::memory_order_acquire) == 0) {
      sys::futex_wait(&setup_done_, 0);
    }
    if (setup_rc_ != 0) {
      join();
      return setup_rc_;
    }
    return 0;
  }

  // Kernel thread id; valid after start() returned 0.
  pid_t tid() const noexcept { return tid_; }

  // Waits for fn to return. Idempotent.
  void join() noexcept {
    if (!running_) return;
    ::pthread_join(thread_, nullptr);
    running_ = false;
  }

 private:
  static void* trampoline(void* arg) {
    auto* self = static_cast<PinnedThread*>(arg);
    self->tid_ = sys::gettid();
    int rc = 0;
    if (self->cpu_ >= 0) rc = sys::pin_to_cpu(0, self->cpu_);
    if (rc == 0) rc = sys::set_scheduler(0, self->sched_.policy, self->sched_.priority);
    self->setup_rc_ = rc < 0 ? rc : 0;
    const bool run = self->setup_rc_ == 0;
    // After this store the creator may read setup_rc_ and, on failure,
    // join: touch nothing of *self but fn_ (only when run) from here on.
    self->setup_done_.store(1, std::memory_order_release);
    sys::futex_wake(&self->setup_done_, 1);
    if (run) self->fn_();
    return nullptr;
  }

  pthread_t thread_{};
  bool running_ = false;
  int cpu_ = -1;
  Sched sched_;
  std::function<void()> fn_;
  std::atomic<uint32_t> setup_done_{0};
  int setup_rc_ = 0;
  pid_t tid_ = 0;
};

// Runs fn on a thread pinned to `cpu` at `sched` and joins it. Returns 0, or
// -errno when the thread could not be created, pinned or scheduled (then fn
// did not run). A benchmark typically runs its whole `for (auto _ : state)`
// loop inside fn: Google Benchmark's State may be driven from any one thread.
inline int run_pinned(int cpu, Sched sched, std::function<void()> fn) noexcept {
  PinnedThread t;
  const int rc = t.start(cpu, sched, std::move(fn));
  t.join();
  return rc;
}

// --- signals -------------------------------------------------------------------------------

// Installs `handler` for `sig` (sa_mask: every signal, so the handler is never
// nested; no SA_RESTART) and restores the previous action on destruction.
// The process-wide disposition changes: give each benchmark its own signal.
class ScopedSignalAction {
 public:
  ScopedSignalAction(int sig, void (*handler)(int)) noexcept : sig_(sig) {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigfillset(&sa.sa_mask);
    sa.sa_flags = 0;
    status_ = ::sigaction(sig, &sa, &old_) == 0 ? 0 : -errno;
  }
  ~ScopedSignalAction() {
    if (status_ == 0) ::sigaction(sig_, &old_, nullptr);
  }
  ScopedSignalAction(const ScopedSignalAction&) = delete;
  ScopedSignalAction& operator=(const ScopedSignalAction&) = delete;

  // 0, or -errno from sigaction.
  int status() const noexcept { return status_; }

 private:
  int sig_;
  int status_;
  struct sigaction old_;
};

// The mask for sigsuspend() in a thread that waits for `sig` only.
inline sigset_t all_blocked_except(int sig) noexcept {
  sigset_t set;
  sigfillset(&set);
  sigdelset(&set, sig);
  return set;
}

// --- delays --------------------------------------------------------------------------------

// Deterministic delays uniform in [lo_ns, hi_ns] (splitmix64), so timer and
// signal benchmarks do not phase-lock with the tick yet repeat run to run.
class Jitter {
 public:
  Jitter(uint64_t seed, int64_t lo_ns, int64_t hi_ns) noexcept
      : state_(seed), lo_(lo_ns), span_(static_cast<uint64_t>(hi_ns - lo_ns) + 1) {}
  int64_t next() noexcept {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return lo_ + static_cast<int64_t>(z % span_);
  }

 private:
  uint64_t state_;
  int64_t lo_;
  uint64_t span_;
};

// --- reporting ------------------------------------------------------------------------

// Records one latency sample and makes it this iteration's manual time, so
// with ->UseManualTime() the reported real_time is the mean latency.
inline void record_iteration_latency(benchmark::State& state, LatencyHistogram& h,
                                     int64_t ns) noexcept {
  const int64_t v = ns > 0 ? ns : 0;
  h.record(v);
  state.SetIterationTime(static_cast<double>(v) * 1e-9);
}

// Counters p50_ns, p99_ns, max_ns (nanoseconds, reported as is) from `h`.
// Call after the loop; an empty histogram (a skipped run) sets nothing.
inline void set_latency_counters(benchmark::State& state, const LatencyHistogram& h) {
  if (h.count() == 0) return;
  state.counters["p50_ns"] = benchmark::Counter(static_cast<double>(h.percentile(50)));
  state.counters["p99_ns"] = benchmark::Counter(static_cast<double>(h.percentile(99)));
  state.counters["max_ns"] = benchmark::Counter(static_cast<double>(h.max()));
}

}  // namespace pb::bench
