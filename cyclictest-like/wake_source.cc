#include "wake_source.h"

#include <pthread.h>
#include <signal.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <liburing.h>

#include "pb/sys.h"

namespace pb::cyclic {
namespace {

void empty_handler(int) {}

// clock_nanosleep(TIMER_ABSTIME): cyclictest's own mechanism. With -r / -s
// the relative variants cyclictest has: sleep one interval from "now".
class NanosleepSource final : public WakeSource {
 public:
  NanosleepSource(clockid_t clock, bool relative, bool system_sleep)
      : clock_(clock), relative_(relative), system_sleep_(system_sleep) {}
  int start(int64_t first_ns, int64_t interval_ns) noexcept override {
    next_ = first_ns;
    interval_ = interval_ns;
    return 0;
  }
  int wait(Wakeup* w) noexcept override {
    if (relative_ || system_sleep_) {
      const int64_t before = sys::clock_ns(clock_);
      const timespec ts = sys::to_timespec(interval_);
      const int ret = system_sleep_ ? (::nanosleep(&ts, nullptr) == 0 ? 0 : -errno)
                                    : -::clock_nanosleep(clock_, 0, &ts, nullptr);
      if (ret != 0) return ret;
      w->woke_ns = sys::clock_ns(clock_);
      w->expected_ns = before + interval_;
      w->missed = 0;
      return 0;
    }
    const int ret = sleep_until(clock_, next_);
    if (ret != 0) return ret;
    w->woke_ns = sys::clock_ns(clock_);
    w->expected_ns = next_;
    next_ += interval_;
    w->missed = skip_missed(&next_, w->woke_ns, interval_);
    return 0;
  }

 private:
  const clockid_t clock_;
  const bool relative_;
  const bool system_sleep_;
  int64_t next_ = 0;
  int64_t interval_ = 0;
};

// A periodic absolute timerfd: read() returns how many expiries passed, so
// overruns come from the kernel, not from our arithmetic.
class TimerfdSource final : public WakeSource {
 public:
  explicit TimerfdSource(clockid_t clock) : clock_(clock) {}
  ~TimerfdSource() override {
    if (fd_ >= 0) ::close(fd_);
  }
  int prepare() noexcept override {
    fd_ = ::timerfd_create(clock_, TFD_CLOEXEC);
    return fd_ < 0 ? -errno : 0;
  }
  int start(int64_t first_ns, int64_t interval_ns) noexcept override {
    base_ = first_ns;
    interval_ = interval_ns;
    consumed_ = 0;
    itimerspec its{};
    its.it_value = sys::to_timespec(first_ns);
    its.it_interval = sys::to_timespec(interval_ns);
    return ::timerfd_settime(fd_, TFD_TIMER_ABSTIME, &its, nullptr) < 0 ? -errno : 0;
  }
  int wait(Wakeup* w) noexcept override {
    uint64_t expiries = 0;
    if (::read(fd_, &expiries, sizeof expiries) != sizeof expiries) return -errno;
    w->woke_ns = sys::clock_ns(clock_);
    // Latency counts from the oldest release not yet answered.
    w->expected_ns = base_ + static_cast<int64_t>(consumed_) * interval_;
    w->missed = expiries > 0 ? expiries - 1 : 0;
    consumed_ += expiries;
    return 0;
  }

 private:
  const clockid_t clock_;
  int fd_ = -1;
  int64_t base_ = 0;
  int64_t interval_ = 0;
  uint64_t consumed_ = 0;
};

// io_uring timeouts with IORING_TIMEOUT_ABS (CLOCK_MONOTONIC): one submit and
// one completion per period.
class UringSource final : public WakeSource {
 public:
  explicit UringSource(clockid_t clock) : clock_(clock) {}
  ~UringSource() override {
    if (ready_) io_uring_queue_exit(&ring_);
  }
  int prepare() noexcept override {
    const int ret = io_uring_queue_init(4, &ring_, 0);
    if (ret < 0) return ret;
    ready_ = true;
    return 0;
  }
  int start(int64_t first_ns, int64_t interval_ns) noexcept override {
    next_ = first_ns;
    interval_ = interval_ns;
    return 0;
  }
  int wait(Wakeup* w) noexcept override {
    // One timeout in flight at a time: a wait interrupted by the stop kick
    // leaves it armed, and the next call waits for the same one.
    if (!inflight_) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) return -EBUSY;
      ts_.tv_sec = next_ / sys::kNsPerSec;
      ts_.tv_nsec = next_ % sys::kNsPerSec;
      io_uring_prep_timeout(
          sqe, &ts_, 0,
          IORING_TIMEOUT_ABS | (clock_ == CLOCK_REALTIME ? IORING_TIMEOUT_REALTIME : 0));
      int ret;
      // EAGAIN: the kernel was short of resources for the request; transient.
      for (int tries = 0; (ret = io_uring_submit(&ring_)) == -EAGAIN && tries < 1000; ++tries) {
      }
      if (ret < 0) return ret;
      inflight_ = true;
    }
    io_uring_cqe* cqe = nullptr;
    const int ret = io_uring_wait_cqe(&ring_, &cqe);
    if (ret < 0) return ret;  // -EINTR: the stop kick
    const int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    inflight_ = false;
    // A timeout that expires completes with -ETIME.
    if (res != -ETIME && res < 0) return res;
    w->woke_ns = sys::clock_ns(clock_);
    w->expected_ns = next_;
    next_ += interval_;
    w->missed = skip_missed(&next_, w->woke_ns, interval_);
    return 0;
  }

 private:
  const clockid_t clock_;
  bool inflight_ = false;
  io_uring ring_{};
  bool ready_ = false;
  __kernel_timespec ts_{};
  int64_t next_ = 0;
  int64_t interval_ = 0;
};

// A POSIX timer delivering a real-time signal to this thread only
// (SIGEV_THREAD_ID), collected with sigwaitinfo; si_overrun counts the
// periods the kernel could not deliver separately.
class SignalSource final : public WakeSource {
 public:
  explicit SignalSource(clockid_t clock) : clock_(clock) {}
  ~SignalSource() override {
    if (armed_) ::timer_delete(timer_);
  }
  int start(int64_t first_ns, int64_t interval_ns) noexcept override {
    base_ = first_ns;
    interval_ = interval_ns;
    consumed_ = 0;
    signo_ = SIGRTMIN + 2;
    sigemptyset(&set_);
    sigaddset(&set_, signo_);
    sigaddset(&set_, stop_kick_signal());
    sigevent sev{};
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = signo_;
    sev._sigev_un._tid = sys::gettid();
    if (::timer_create(clock_, &sev, &timer_) != 0) return -errno;
    armed_ = true;
    itimerspec its{};
    its.it_value = sys::to_timespec(first_ns);
    its.it_interval = sys::to_timespec(interval_ns);
    return ::timer_settime(timer_, TIMER_ABSTIME, &its, nullptr) != 0 ? -errno : 0;
  }
  int wait(Wakeup* w) noexcept override {
    siginfo_t info;
    const int sig = ::sigwaitinfo(&set_, &info);
    if (sig < 0) return -errno;
    if (sig != signo_) return -EINTR;  // the stop kick
    w->woke_ns = sys::clock_ns(clock_);
    w->expected_ns = base_ + static_cast<int64_t>(consumed_) * interval_;
    const uint64_t overrun = info.si_overrun > 0 ? static_cast<uint64_t>(info.si_overrun) : 0;
    w->missed = overrun;
    consumed_ += 1 + overrun;
    return 0;
  }

 private:
  const clockid_t clock_;
  timer_t timer_{};
  bool armed_ = false;
  int signo_ = 0;
  sigset_t set_{};
  int64_t base_ = 0;
  int64_t interval_ = 0;
  uint64_t consumed_ = 0;
};

// Thread-to-thread wakeup: a waker thread sleeps until each release, stamps
// the time and wakes the measuring thread through a futex. The waker runs on
// the measuring thread's CPU one priority below it (same priority at 1, and
// SCHED_OTHER when the measuring thread is), so the wakeup preempts it at
// once: the latency is futex_wake() → the measuring thread running.
class FutexSource final : public WakeSource {
 public:
  FutexSource(clockid_t clock, int cpu, int policy, int priority)
      : clock_(clock), cpu_(cpu), policy_(policy), priority_(priority) {}

  int start(int64_t first_ns, int64_t interval_ns) noexcept override {
    next_ = first_ns;
    interval_ = interval_ns;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 128 * 1024);  // locked whole under mlockall(MCL_FUTURE)
    if (cpu_ >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu_, &set);
      pthread_attr_setaffinity_np(&attr, sizeof set, &set);
    }
    pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
    pthread_attr_setschedpolicy(&attr, policy_);
    sched_param sp{};
    if (policy_ == SCHED_FIFO || policy_ == SCHED_RR) {
      sp.sched_priority = priority_ > 1 ? priority_ - 1 : priority_;
    }
    pthread_attr_setschedparam(&attr, &sp);
    const int ret = pthread_create(&waker_, &attr, &FutexSource::waker_main, this);
    pthread_attr_destroy(&attr);
    if (ret != 0) return -ret;
    started_ = true;
    return 0;
  }

  int wait(Wakeup* w) noexcept override {
    for (;;) {
      const uint32_t seen = seq_.load(std::memory_order_acquire);
      if (seen != consumed_) {
        w->woke_ns = sys::clock_ns(clock_);
        // More than one publication since the last wait: the waker released
        // again before this thread ran; those wakeups were missed too.
        w->missed = missed_.exchange(0, std::memory_order_relaxed) + (seen - consumed_ - 1);
        consumed_ = seen;
        w->expected_ns = stamp_.load(std::memory_order_relaxed);
        return 0;
      }
      if (stopping_.load(std::memory_order_relaxed)) return -EINTR;
      const int ret = sys::futex_wait(&seq_, seen);
      if (ret == -EINTR) return -EINTR;
    }
  }

  void stop() noexcept override {
    stopping_.store(true, std::memory_order_relaxed);
    seq_.fetch_add(0, std::memory_order_release);
    sys::futex_wake(&seq_, 1);
  }

  void finish() noexcept override {
    stopping_.store(true, std::memory_order_relaxed);
    if (started_) {
      pthread_kill(waker_, stop_kick_signal());
      pthread_join(waker_, nullptr);
      started_ = false;
    }
  }

 private:
  static void* waker_main(void* arg) {
    auto* self = static_cast<FutexSource*>(arg);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, stop_kick_signal());
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    int64_t next = self->next_;
    while (!self->stopping_.load(std::memory_order_relaxed)) {
      if (sleep_until(self->clock_, next) != 0) continue;  // kicked: re-check stopping_
      // Stamp, publish, wake: the measuring thread's latency starts here.
      self->stamp_.store(sys::clock_ns(self->clock_), std::memory_order_relaxed);
      self->seq_.fetch_add(1, std::memory_order_release);
      sys::futex_wake(&self->seq_, 1);
      const int64_t now = sys::clock_ns(self->clock_);
      next += self->interval_;
      self->missed_.fetch_add(skip_missed(&next, now, self->interval_), std::memory_order_relaxed);
    }
    return nullptr;
  }

  const clockid_t clock_;
  const int cpu_;
  const int policy_;
  const int priority_;
  pthread_t waker_{};
  bool started_ = false;
  int64_t next_ = 0;
  int64_t interval_ = 0;
  uint32_t consumed_ = 0;
  std::atomic<uint32_t> seq_{0};
  std::atomic<int64_t> stamp_{0};
  std::atomic<uint64_t> missed_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace

int stop_kick_signal() noexcept { return SIGRTMIN + 1; }

void install_stop_kick_handler() noexcept {
  struct sigaction sa {};
  sa.sa_handler = &empty_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a kicked sleep returns EINTR
  sigaction(stop_kick_signal(), &sa, nullptr);
}

int sleep_until(clockid_t clock, int64_t deadline_ns) noexcept {
  const timespec ts = sys::to_timespec(deadline_ns);
  // clock_nanosleep returns the error number instead of setting errno.
  return -::clock_nanosleep(clock, TIMER_ABSTIME, &ts, nullptr);
}

std::unique_ptr<WakeSource> make_wake_source(const SourceConfig& c) {
  switch (c.mode) {
    case Mode::kNanosleep:
      return std::make_unique<NanosleepSource>(c.clock, c.relative, c.system_sleep);
    case Mode::kTimerfd:
      return std::make_unique<TimerfdSource>(c.clock);
    case Mode::kUring:
      return std::make_unique<UringSource>(c.clock);
    case Mode::kSignal:
      return std::make_unique<SignalSource>(c.clock);
    case Mode::kFutex:
      return std::make_unique<FutexSource>(c.clock, c.cpu, c.policy, c.priority);
  }
  return nullptr;
}

}  // namespace pb::cyclic
