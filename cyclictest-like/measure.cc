#include "measure.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>

#include "pb/sys.h"

namespace pb::cyclic {
namespace {

std::atomic<int> g_stop_signal{0};
std::atomic<int> g_status_request{0};
std::atomic<int> g_snapshot_request{0};
std::atomic<uint32_t> g_main_wake{0};

static_assert(std::atomic<int>::is_always_lock_free && std::atomic<uint32_t>::is_always_lock_free,
              "signal handlers may only touch lock-free atomics");

void wake_main() noexcept {
  g_main_wake.fetch_add(1, std::memory_order_release);
  sys::futex_wake(&g_main_wake, 1);
}

// Async-signal-safe: lock-free atomic stores and a futex wake, nothing else.
void on_signal(int sig) {
  const int saved_errno = errno;
  switch (sig) {
    case SIGUSR1:
      g_status_request.store(1, std::memory_order_relaxed);
      break;
    case SIGUSR2:
      g_snapshot_request.store(1, std::memory_order_relaxed);
      break;
    case SIGALRM:
      break;  // absorbed: cyclictest keeps SIGALRM blocked
    default:
      g_stop_signal.store(sig, std::memory_order_relaxed);
      break;
  }
  wake_main();
  errno = saved_errno;
}

// Measuring threads run on a small, fixed stack: with mlockall(MCL_FUTURE)
// every stack page is locked, so glibc's 8 MiB default would cost 8 MiB of
// RSS per thread. The loop's frames and a signal frame (the stop kick) fit
// many times over; the sanitizers' redzones and fake frames need more.
#if defined(PB_SANITIZED)
constexpr size_t kStackSize = 1024 * 1024;
#else
constexpr size_t kStackSize = 64 * 1024;
#endif
constexpr size_t kStackPrefault = 16 * 1024;

void prefault_stack() {
  volatile char buf[kStackPrefault];
  for (size_t i = 0; i < sizeof buf; i += 4096) buf[i] = 0;
}

// --tracemark: cyclictest's message, written with no allocation.
void write_trace_mark(int marker_fd, int tracing_on_fd, int64_t value, int64_t limit) noexcept {
  if (marker_fd < 0 || tracing_on_fd < 0) return;
  char buf[96];
  static constexpr char kHead[] = "hit latency threshold (";
  char* p = std::copy(kHead, kHead + sizeof kHead - 1, buf);
  p = std::to_chars(p, buf + sizeof buf - 24, value).ptr;
  p = std::copy(" > ", " > " + 3, p);
  p = std::to_chars(p, buf + sizeof buf - 2, limit).ptr;
  *p++ = ')';
  (void)!::write(marker_fd, buf, static_cast<size_t>(p - buf));
  (void)!::write(tracing_on_fd, "0\n", 2);
}

}  // namespace

std::atomic<int>& stop_signal_flag() noexcept { return g_stop_signal; }
std::atomic<int>& status_request_flag() noexcept { return g_status_request; }
std::atomic<int>& snapshot_request_flag() noexcept { return g_snapshot_request; }
std::atomic<uint32_t>& main_wake_word() noexcept { return g_main_wake; }

void install_signal_handlers() noexcept {
  struct sigaction sa {};
  sa.sa_handler = &on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // interrupt the main thread's sleep
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM}) sigaction(sig, &sa, nullptr);
  install_stop_kick_handler();
}

struct Measurement::ThreadState {
  Measurement* owner = nullptr;
  std::unique_ptr<WakeSource> source;
  ThreadResult result;
  LiveStats live;
  std::unique_ptr<std::atomic<int64_t>[]> values;  // -v ring, kValueRing entries
  pthread_t thread{};
  bool started = false;
};

Measurement::Measurement(const Options& opts, std::vector<ThreadPlan> plans)
    : opts_(opts), plans_(std::move(plans)) {}

Measurement::~Measurement() {
  if (std::any_of(threads_.begin(), threads_.end(), [](auto& t) { return t->started; })) {
    finish(StopReason::kError, 0);
  }
}

size_t Measurement::size() const { return threads_.size(); }
const LiveStats& Measurement::live(size_t i) const { return threads_[i]->live; }
int64_t Measurement::value(size_t i, uint64_t cycle) const {
  return threads_[i]->values[cycle % kValueRing].load(std::memory_order_relaxed);
}
bool Measurement::thread_requested_stop() const {
  return stop_request_.load(std::memory_order_relaxed) != 0;
}
void Measurement::set_trace_files(int marker_fd, int tracing_on_fd) noexcept {
  trace_marker_fd_ = marker_fd;
  tracing_on_fd_ = tracing_on_fd;
}

int Measurement::prepare(std::string* error) {
  threads_.clear();
  if (opts_.spike > 0) spikes_.resize(static_cast<size_t>(opts_.spike_nodes));
  for (const ThreadPlan& plan : plans_) {
    auto t = std::make_unique<ThreadState>();
    t->owner = this;
    t->result.plan = plan;
    t->result.node = opts_.smp ? -1 : 0;  // as cyclictest 2.4 reports it
    if (opts_.histogram > 0) {
      t->result.linear.assign(static_cast<size_t>(opts_.histogram), 0);
      // cyclictest keeps as many overflow cycle numbers as it has buckets.
      t->result.overflow_cycles.reserve(static_cast<size_t>(opts_.histogram));
    }
    if (opts_.verbose) {
      t->values = std::make_unique<std::atomic<int64_t>[]>(kValueRing);
      for (uint64_t i = 0; i < kValueRing; ++i) t->values[i].store(0, std::memory_order_relaxed);
    }
    SourceConfig config;
    config.mode = opts_.mode;
    config.clock = opts_.clock();
    config.relative = opts_.relative;
    config.system_sleep = opts_.system_sleep;
    config.cpu = plan.cpu;
    config.policy = plan.policy;
    config.priority = plan.priority;
    t->source = make_wake_source(config);
    const int ret = t->source->prepare();
    if (ret < 0) {
      if (error) {
        *error = std::string("cannot set up --mode ") + mode_name(opts_.mode) + ": " +
                 std::strerror(-ret);
        if (ret == -ENOSYS && opts_.mode == Mode::kUring) {
          *error += " (io_uring is not available here; use another --mode)";
        }
      }
      threads_.clear();
      return ret;
    }
    threads_.push_back(std::move(t));
  }
  return 0;
}

int Measurement::start(std::string* error) {
  // Threads are born with every signal blocked; each unblocks only the stop kick.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int failure = 0;
  for (auto& t : threads_) {
    const ThreadPlan& plan = t->result.plan;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, kStackSize);
    if (plan.cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(plan.cpu, &set);
      pthread_attr_setaffinity_np(&attr, sizeof set, &set);
    }
    pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
    pthread_attr_setschedpolicy(&attr, plan.policy);
    sched_param sp{};
    sp.sched_priority = plan.priority;
    pthread_attr_setschedparam(&attr, &sp);
    const int ret = pthread_create(&t->thread, &attr, &Measurement::thread_main, t.get());
    pthread_attr_destroy(&attr);
    if (ret != 0) {
      failure = -ret;
      if (error) {
        *error = "cannot start measuring thread " + std::to_string(plan.index) + ": " +
                 std::strerror(ret);
        if (ret == EPERM) {
          *error +=
              " (real-time priority needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO "
              "of at least " +
              std::to_string(plan.priority) + ")";
        } else if (ret == EINVAL && plan.cpu >= 0) {
          *error += " (CPU " + std::to_string(plan.cpu) + " not usable)";
        }
      }
      break;
    }
    t->started = true;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (failure != 0) finish(StopReason::kError, 0);
  return failure;
}

void* Measurement::thread_main(void* arg) {
  auto* t = static_cast<ThreadState*>(arg);
  sigset_t kick;
  sigemptyset(&kick);
  sigaddset(&kick, stop_kick_signal());
  pthread_sigmask(SIG_UNBLOCK, &kick, nullptr);
  prefault_stack();
  t->owner->loop(*t);
  return nullptr;
}

void Measurement::request_stop(StopReason why) {
  int none = 0;
  stop_request_.compare_exchange_strong(none, static_cast<int>(why));
  wake_main();
}

// -A / --secaligned: every thread arrives; the last one reads the clock (and
// rounds it up to a full second with --secaligned, as cyclictest does) and
// lets them all go. Returns false when the run is stopped before.
bool Measurement::wait_for_alignment(int64_t* base_ns) {
  const uint32_t n = align_arrived_.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (n == threads_.size()) {
    int64_t base = sys::clock_ns(opts_.clock());
    if (opts_.align == Align::kSecond) {
      const int64_t sec = base / sys::kNsPerSec;
      const int64_t nsec = base % sys::kNsPerSec;
      base = (sec + (nsec > 900'000'000 ? 2 : 1)) * sys::kNsPerSec;
    }
    align_base_ns_ = base;
    align_go_.store(1, std::memory_order_release);
    sys::futex_wake(&align_go_, INT_MAX);
  } else {
    while (align_go_.load(std::memory_order_acquire) == 0) {
      if (stopping_.load(std::memory_order_relaxed)) return false;
      sys::futex_wait(&align_go_, 0);  // EINTR on the stop kick: re-check
    }
  }
  *base_ns = align_base_ns_;
  return true;
}

void Measurement::loop(ThreadState& t) {
  ThreadResult& r = t.result;
  LiveStats& live = t.live;
  r.tid = sys::gettid();
  live.tid.store(r.tid, std::memory_order_relaxed);
  const int64_t interval = r.plan.interval_ns;
  const clockid_t clock = opts_.clock();
  int64_t first = 0;
  if (opts_.align != Align::kNone) {
    int64_t base = 0;
    if (!wait_for_alignment(&base)) {
      t.source->finish();
      return;
    }
    const int64_t offset = opts_.align_offset_us * 1000;
    first = base + (opts_.align == Align::kThreads ? offset * r.plan.index : offset) + interval;
  } else {
    first = sys::clock_ns(clock) + interval;
  }
  int ret = t.source->start(first, interval);
  if (ret < 0) {
    r.error = ret;
    r.error_where = "start";
    request_stop(StopReason::kError);
  }
  const int64_t unit = opts_.nsecs ? 1 : 1000;
  const size_t linear_size = r.linear.size();
  std::atomic<int64_t>* const values = t.values.get();
  int64_t min_ns = std::numeric_limits<int64_t>::max(), max_ns = 0, sum_ns = 0;
  uint64_t cycles = 0, missed = 0;
  Wakeup w;
  while (ret == 0 && !stopping_.load(std::memory_order_relaxed)) {
    ret = t.source->wait(&w);
    if (ret == -EINTR) {
      ret = 0;
      continue;
    }
    if (ret < 0) {
      r.error = ret;
      r.error_where = "wait";
      request_stop(StopReason::kError);
      break;
    }
    const int64_t lat = std::max<int64_t>(0, w.woke_ns - w.expected_ns);
    const int64_t lat_unit = lat / unit;  // what cyclictest compares and prints
    r.histogram.record(lat);
    if (linear_size > 0) {
      if (static_cast<uint64_t>(lat_unit) < linear_size) {
        ++r.linear[static_cast<size_t>(lat_unit)];
      } else {
        ++r.linear_overflow;
        if (r.overflow_cycles.size() < linear_size) r.overflow_cycles.push_back(cycles);
      }
    }
    if (values != nullptr) values[cycles % kValueRing].store(lat_unit, std::memory_order_relaxed);
    if (opts_.spike > 0 && lat_unit > opts_.spike) {
      const uint64_t at = spike_count_.fetch_add(1, std::memory_order_relaxed);
      if (at < spikes_.size()) spikes_[at] = Spike{r.plan.index, lat, w.woke_ns};
    }
    ++cycles;
    missed += w.missed;
    sum_ns += lat;
    min_ns = std::min(min_ns, lat);
    max_ns = std::max(max_ns, lat);
    live.act_ns.store(lat, std::memory_order_relaxed);
    live.min_ns.store(min_ns, std::memory_order_relaxed);
    live.max_ns.store(max_ns, std::memory_order_relaxed);
    live.sum_ns.store(sum_ns, std::memory_order_relaxed);
    live.missed.store(missed, std::memory_order_relaxed);
    live.cycles.store(cycles, std::memory_order_release);
    if (opts_.breaktrace > 0 && lat_unit > opts_.breaktrace) {
      int expected = -1;
      if (break_thread_.compare_exchange_strong(expected, r.plan.index)) {
        break_value_.store(lat, std::memory_order_relaxed);
        write_trace_mark(trace_marker_fd_, tracing_on_fd_, lat_unit, opts_.breaktrace);
      }
      request_stop(StopReason::kBreak);
      break;
    }
    if (opts_.loops > 0 && cycles >= opts_.loops) {
      // As in cyclictest, the first thread to finish its loops ends the run.
      request_stop(StopReason::kLoops);
      break;
    }
  }
  r.cycles = cycles;
  r.missed = missed;
  r.sum_ns = sum_ns;
  r.min_ns = cycles ? min_ns : 0;
  r.max_ns = max_ns;
  r.act_ns = live.act_ns.load(std::memory_order_relaxed);
  t.source->finish();
}

RunResult Measurement::finish(StopReason reason, int64_t elapsed_ns) {
  stopping_.store(true, std::memory_order_relaxed);
  for (auto& t : threads_) {
    if (!t->started) continue;
    // A kick can land just before the thread blocks; repeat until it is gone.
    for (;;) {
      t->source->stop();
      pthread_kill(t->thread, stop_kick_signal());
      timespec deadline;
      clock_gettime(CLOCK_REALTIME, &deadline);
      deadline.tv_nsec += 20'000'000;
      if (deadline.tv_nsec >= 1'000'000'000) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1'000'000'000;
      }
      if (pthread_timedjoin_np(t->thread, nullptr, &deadline) == 0) break;
    }
    t->started = false;
  }
  RunResult out;
  out.elapsed_ns = elapsed_ns;
  const int requested = stop_request_.load(std::memory_order_relaxed);
  out.stop =
      requested != 0 && reason != StopReason::kSignal ? static_cast<StopReason>(requested) : reason;
  out.partial = out.stop == StopReason::kSignal || out.stop == StopReason::kError;
  out.break_thread = break_thread_.load(std::memory_order_relaxed);
  out.break_value_ns = break_value_.load(std::memory_order_relaxed);
  out.spike_count = spike_count_.load(std::memory_order_relaxed);
  out.spikes.assign(spikes_.begin(),
                    spikes_.begin() + static_cast<std::ptrdiff_t>(
                                          std::min<uint64_t>(out.spike_count, spikes_.size())));
  for (auto& t : threads_) out.threads.push_back(std::move(t->result));
  return out;
}

}  // namespace pb::cyclic
