#include "measure.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pb/sys.h"

namespace pb::cyclic {
namespace {

std::atomic<int> g_stop_signal{0};

void on_stop_signal(int sig) { g_stop_signal.store(sig, std::memory_order_relaxed); }

// Measuring threads run on a small, fixed stack: with mlockall(MCL_FUTURE)
// every stack page is locked, so glibc's 8 MiB default would cost 8 MiB of
// RSS per thread.
constexpr size_t kStackSize = 256 * 1024;
constexpr size_t kStackPrefault = 64 * 1024;

void prefault_stack() {
  volatile char buf[kStackPrefault];
  for (size_t i = 0; i < sizeof buf; i += 4096) buf[i] = 0;
}

}  // namespace

std::atomic<int>& stop_signal_flag() noexcept { return g_stop_signal; }

void install_stop_signal_handlers() noexcept {
  struct sigaction sa {};
  sa.sa_handler = &on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // interrupt the main thread's sleep
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  install_stop_kick_handler();
}

struct Measurement::ThreadState {
  Measurement* owner = nullptr;
  std::unique_ptr<WakeSource> source;
  ThreadResult result;
  LiveStats live;
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
bool Measurement::thread_requested_stop() const {
  return stop_request_.load(std::memory_order_relaxed) != 0;
}

int Measurement::prepare(std::string* error) {
  threads_.clear();
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
    t->source = make_wake_source(opts_.mode, plan.cpu, plan.policy, plan.priority);
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
  start_ns_ = sys::now_ns();
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
          *error += " (real-time priority needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO "
                    "of at least " + std::to_string(plan.priority) + ")";
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

void Measurement::loop(ThreadState& t) {
  ThreadResult& r = t.result;
  LiveStats& live = t.live;
  r.tid = sys::gettid();
  live.tid.store(r.tid, std::memory_order_relaxed);
  const int64_t interval = r.plan.interval_ns;
  int ret = t.source->start(sys::now_ns() + interval, interval);
  if (ret < 0) {
    r.error = ret;
    r.error_where = "start";
    stop_request_.store(static_cast<int>(StopReason::kError), std::memory_order_relaxed);
  }
  const int64_t unit = opts_.nsecs ? 1 : 1000;
  const int64_t break_ns = opts_.breaktrace_us * 1000;
  const size_t linear_size = r.linear.size();
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
      stop_request_.store(static_cast<int>(StopReason::kError), std::memory_order_relaxed);
      break;
    }
    const int64_t lat = std::max<int64_t>(0, w.woke_ns - w.expected_ns);
    r.histogram.record(lat);
    if (linear_size > 0) {
      const auto bucket = static_cast<uint64_t>(lat / unit);
      if (bucket < linear_size) {
        ++r.linear[bucket];
      } else {
        ++r.linear_overflow;
        if (r.overflow_cycles.size() < linear_size) r.overflow_cycles.push_back(cycles);
      }
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
    if (break_ns > 0 && lat > break_ns) {
      int expected = -1;
      if (break_thread_.compare_exchange_strong(expected, r.plan.index)) {
        break_value_.store(lat, std::memory_order_relaxed);
      }
      stop_request_.store(static_cast<int>(StopReason::kBreak), std::memory_order_relaxed);
      break;
    }
    if (opts_.loops > 0 && cycles >= opts_.loops) {
      // As in cyclictest, the first thread to finish its loops ends the run.
      int none = 0;
      stop_request_.compare_exchange_strong(none, static_cast<int>(StopReason::kLoops));
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
  out.stop = requested != 0 && reason != StopReason::kSignal ? static_cast<StopReason>(requested)
                                                              : reason;
  out.partial = out.stop == StopReason::kSignal || out.stop == StopReason::kError;
  out.break_thread = break_thread_.load(std::memory_order_relaxed);
  out.break_value_ns = break_value_.load(std::memory_order_relaxed);
  for (auto& t : threads_) out.threads.push_back(t->result);
  return out;
}

}  // namespace pb::cyclic
