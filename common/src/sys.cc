#include "pb/sys.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pb::sys {
namespace {

inline int ret_or_errno(long ret) noexcept { return ret < 0 ? -errno : static_cast<int>(ret); }

long futex(void* addr, int op, uint32_t val, const timespec* ts) noexcept {
  return ::syscall(SYS_futex, addr, op, val, ts, nullptr, 0);
}

// Reads up to size - 1 bytes of `path` into buf, NUL-terminated (a /proc file
// that fits; no allocation). 0, or -errno.
int read_small_file(const char* path, char* buf, size_t size) noexcept {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t got;
  do {
    got = ::read(fd, buf, size - 1);
  } while (got < 0 && errno == EINTR);
  const int err = got < 0 ? -errno : 0;
  ::close(fd);
  if (err != 0) return err;
  buf[got] = '\0';
  return 0;
}

}  // namespace

int64_t clock_ns(clockid_t clock) noexcept {
  timespec ts;
  ::clock_gettime(clock, &ts);
  return to_ns(ts);
}

int64_t now_ns() noexcept { return clock_ns(CLOCK_MONOTONIC); }

timespec to_timespec(int64_t ns) noexcept {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / kNsPerSec);
  ts.tv_nsec = static_cast<long>(ns % kNsPerSec);
  return ts;
}

int sleep_until_ns(int64_t deadline_ns) noexcept {
  const timespec ts = to_timespec(deadline_ns);
  // clock_nanosleep returns the error number instead of setting errno.
  return -::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

pid_t gettid() noexcept { return static_cast<pid_t>(::syscall(SYS_gettid)); }

int tgkill(pid_t tid, int sig) noexcept {
  return ret_or_errno(::syscall(SYS_tgkill, ::getpid(), tid, sig));
}

int set_scheduler(pid_t tid, int policy, int priority) noexcept {
  sched_param sp{};
  sp.sched_priority = priority;
  return ret_or_errno(::sched_setscheduler(tid, policy, &sp));
}

int get_scheduler(pid_t tid, int* priority) noexcept {
  const int policy = ::sched_getscheduler(tid);
  if (policy < 0) return -errno;
  if (priority != nullptr) {
    sched_param sp{};
    if (::sched_getparam(tid, &sp) != 0) return -errno;
    *priority = sp.sched_priority;
  }
  return policy;
}

int set_nice(pid_t tid, int nice) noexcept {
  return ret_or_errno(::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), nice));
}

int read_thread_schedstat(pid_t tid, ThreadSchedStat* out) noexcept {
  // "/proc/self/task/" + up to 10 digits + "/schedstat".
  char path[64] = "/proc/self/task/";
  size_t n = std::strlen(path);
  char digits[16];
  size_t nd = 0;
  auto v = static_cast<unsigned long>(tid);
  do {
    digits[nd++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && nd < sizeof(digits));
  while (nd > 0) path[n++] = digits[--nd];
  std::memcpy(path + n, "/schedstat", sizeof("/schedstat"));
  char buf[128];
  if (const int err = read_small_file(path, buf, sizeof(buf)); err < 0) return err;
  // "RUN_NS WAIT_NS TIMESLICES\n"
  int64_t fields[2] = {0, 0};
  const char* c = buf;
  for (int64_t& f : fields) {
    while (*c == ' ') ++c;
    if (*c < '0' || *c > '9') return -EINVAL;
    while (*c >= '0' && *c <= '9') f = f * 10 + (*c++ - '0');
  }
  out->run_ns = fields[0];
  out->wait_ns = fields[1];
  return 0;
}

int get_autogroup_nice(int* nice) noexcept {
  char buf[128];
  if (const int err = read_small_file("/proc/self/autogroup", buf, sizeof(buf)); err < 0) {
    return err;
  }
  // "/autogroup-NNN nice N\n"
  const char* c = std::strstr(buf, " nice ");
  if (c == nullptr) return -EINVAL;
  c += 6;
  const bool neg = *c == '-';
  if (neg) ++c;
  if (*c < '0' || *c > '9') return -EINVAL;
  int v = 0;
  while (*c >= '0' && *c <= '9') v = v * 10 + (*c++ - '0');
  *nice = neg ? -v : v;
  return 0;
}

int set_autogroup_nice(int nice) noexcept {
  const int fd = ::open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  char buf[8];
  size_t n = 0;
  unsigned v = static_cast<unsigned>(nice < 0 ? -nice : nice);
  if (nice < 0) buf[n++] = '-';
  if (v >= 10) buf[n++] = static_cast<char>('0' + v / 10);
  buf[n++] = static_cast<char>('0' + v % 10);
  ssize_t put;
  do {
    put = ::write(fd, buf, n);
  } while (put < 0 && errno == EINTR);
  const int err = put < 0 ? -errno : 0;
  ::close(fd);
  return err;
}

int pin_to_cpu(pid_t tid, int cpu) noexcept {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return -EINVAL;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return set_affinity(tid, set);
}

int set_affinity(pid_t tid, const cpu_set_t& set) noexcept {
  return ret_or_errno(::sched_setaffinity(tid, sizeof(set), &set));
}

int get_affinity(pid_t tid, cpu_set_t* set) noexcept {
  return ret_or_errno(::sched_getaffinity(tid, sizeof(*set), set));
}

int current_cpu() noexcept { return ret_or_errno(::sched_getcpu()); }

int lock_all_memory() noexcept { return ret_or_errno(::mlockall(MCL_CURRENT | MCL_FUTURE)); }

int can_use_fifo(int priority) noexcept {
  struct Probe {
    static void* run(void* arg) {
      auto* prio = static_cast<int*>(arg);
      sched_param sp{};
      sp.sched_priority = *prio;
      *prio = ::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &sp);
      return nullptr;
    }
  };
  int result = priority;
  pthread_t t;
  // A small stack: glibc caches a joined thread's stack, and a later
  // mlockall(MCL_CURRENT) would lock (and count in RSS) all of a default 8 MiB one.
  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  ::pthread_attr_setstacksize(&attr, 64 * 1024);
  const int rc = ::pthread_create(&t, &attr, &Probe::run, &result);
  ::pthread_attr_destroy(&attr);
  if (rc != 0) return -rc;
  ::pthread_join(t, nullptr);
  return result == 0 ? 1 : 0;
}

int futex_wait(std::atomic<uint32_t>* word, uint32_t expected, int64_t abs_deadline_ns) noexcept {
  if (abs_deadline_ns == 0) {
    return ret_or_errno(futex(word, FUTEX_WAIT_PRIVATE, expected, nullptr));
  }
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline.
  const timespec ts = to_timespec(abs_deadline_ns);
  return ret_or_errno(::syscall(SYS_futex, word, FUTEX_WAIT_BITSET_PRIVATE, expected, &ts, nullptr,
                                FUTEX_BITSET_MATCH_ANY));
}

int futex_wake(std::atomic<uint32_t>* word, int count) noexcept {
  return ret_or_errno(futex(word, FUTEX_WAKE_PRIVATE, static_cast<uint32_t>(count), nullptr));
}

int futex_lock_pi(std::atomic<uint32_t>* word) noexcept {
  for (;;) {
    const long ret = futex(word, FUTEX_LOCK_PI_PRIVATE, 0, nullptr);
    if (ret == 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

int futex_lock_pi_until(std::atomic<uint32_t>* word, int64_t abs_deadline_ns) noexcept {
  // FUTEX_LOCK_PI2 (Linux 5.14) takes a CLOCK_MONOTONIC deadline; plain
  // FUTEX_LOCK_PI a CLOCK_REALTIME one, converted here on older kernels.
#ifndef FUTEX_LOCK_PI2
  constexpr int kLockPi2 = 13;
#else
  constexpr int kLockPi2 = FUTEX_LOCK_PI2;
#endif
  static std::atomic<int> have_pi2{1};
  for (;;) {
    long ret;
    if (have_pi2.load(std::memory_order_relaxed) != 0) {
      timespec ts = to_timespec(abs_deadline_ns);
      ret = futex(word, kLockPi2 | FUTEX_PRIVATE_FLAG, 0, &ts);
      if (ret < 0 && errno == ENOSYS) {
        have_pi2.store(0, std::memory_order_relaxed);
        continue;
      }
    } else {
      timespec rt{};
      ::clock_gettime(CLOCK_REALTIME, &rt);
      const int64_t rt_ns = rt.tv_sec * kNsPerSec + rt.tv_nsec + (abs_deadline_ns - now_ns());
      timespec ts = to_timespec(rt_ns);
      ret = futex(word, FUTEX_LOCK_PI_PRIVATE, 0, &ts);
    }
    if (ret == 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

int futex_trylock_pi(std::atomic<uint32_t>* word) noexcept {
  return ret_or_errno(futex(word, FUTEX_TRYLOCK_PI_PRIVATE, 0, nullptr));
}

int futex_unlock_pi(std::atomic<uint32_t>* word) noexcept {
  return ret_or_errno(futex(word, FUTEX_UNLOCK_PI_PRIVATE, 0, nullptr));
}

}  // namespace pb::sys
