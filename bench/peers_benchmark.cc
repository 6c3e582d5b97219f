// The peers: what the host kernel and glibc charge for the operations the
// executive emulates. Each executive primitive in pb-micro is judged as a
// ratio to one of these (issue 3, "Targets"), so their names never change:
//
//   pthread_pi_mutex_lock_unlock  peer of rt_mutex_lock_unlock
//   futex_pingpong_half           peer of dispatch_same_vcpu
//   posix_timer_to_handler        peer of tick_to_handler
//   tgkill_cross_cpu              peer of remote_wakeup_ipi
//   bare_preempt_count_inc_dec    floor of preempt_disable_enable
//   bare_spin_lock_unlock         floor of raw_spin_lock_unlock
//
// Real-time threads run on the measuring CPU (the last allowed one) only;
// see bench_util.h for the machine-safety contract.
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "bench_util.h"
#include "pb/histogram.h"
#include "pb/sys.h"

namespace pb::bench {
namespace {

// Handlers store a 64-bit timestamp; that is async-signal-safe only if the
// store is a plain instruction, not a lock.
static_assert(std::atomic<int64_t>::is_always_lock_free,
              "signal handlers store int64_t timestamps through std::atomic");

// Each signal benchmark owns one real-time signal, counted from SIGRTMAX down
// so it does not meet the suite's other users (pb-cyclictest uses SIGRTMIN+1
// and SIGRTMIN+2).
int posix_timer_signal() noexcept { return SIGRTMAX - 1; }
int tgkill_signal() noexcept { return SIGRTMAX - 2; }

constexpr int64_t kMinDelayNs = 50'000;
constexpr int64_t kMaxDelayNs = 200'000;

// ------------------------------------------------------------------------------------------
// pthread_pi_mutex_lock_unlock: uncontended lock + unlock of a
// PTHREAD_PRIO_INHERIT mutex. glibc's fast path is a user-space CAS of the
// owner's TID (the same PI-futex TID protocol rt_mutex uses); no system call
// while uncontended. Runs on the measuring CPU, like the executive's tasks,
// but at SCHED_OTHER: the uncontended cost does not depend on the policy,
// and a busy loop has no business holding a CPU at SCHED_FIFO.

void pthread_pi_mutex_lock_unlock(benchmark::State& state) {
  pthread_mutexattr_t attr;
  ::pthread_mutexattr_init(&attr);
  int rc = ::pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
  pthread_mutex_t mu;
  if (rc == 0) rc = ::pthread_mutex_init(&mu, &attr);
  ::pthread_mutexattr_destroy(&attr);
  if (rc != 0) {
    state.SkipWithError((std::string("PTHREAD_PRIO_INHERIT mutex: ") + std::strerror(rc)).c_str());
    return;
  }
  const CpuChoice cpus = pick_cpus();
  rc = run_pinned(cpus.measuring, kOther, [&] {
    for (auto _ : state) {
      ::pthread_mutex_lock(&mu);
      ::pthread_mutex_unlock(&mu);
    }
  });
  ::pthread_mutex_destroy(&mu);
  if (rc < 0) state.SkipWithError((std::string("pinned thread: ") + std::strerror(-rc)).c_str());
}
BENCHMARK(pthread_pi_mutex_lock_unlock);

// ------------------------------------------------------------------------------------------
// The floors: the kernel's own instruction sequences in user space, with
// nothing emulated. bare_preempt_count_inc_dec is preempt_disable();
// preempt_enable() as x86 compiles it (an increment and a decrement of a
// memory word a signal handler may read, then a test of need_resched);
// bare_spin_lock_unlock adds the uncontended queued-spinlock fast path
// between them (a CAS 0 -> 1 with acquire, a release store of 0). Each loop
// is one dependent chain through the count word, as in the benchmarks they
// floor, so the ratio shows what the executive adds to the hardware's cost.

struct BareTask {
  std::atomic<uint32_t> count{0};
  std::atomic<uint32_t> need_resched{0};
  std::atomic<uint32_t> lock{0};
  uint64_t resched_seen = 0;
};

inline void bare_count_add(BareTask& t, uint32_t v) {
  t.count.store(t.count.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
}
inline void bare_count_sub_check(BareTask& t, uint32_t v) {
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t.count.store(t.count.load(std::memory_order_relaxed) - v, std::memory_order_relaxed);
  if (t.need_resched.load(std::memory_order_relaxed) != 0) [[unlikely]]
    ++t.resched_seen;
}

template <typename Op>
void bare_loop(benchmark::State& state, Op op) {
  BareTask task;
  const CpuChoice cpus = pick_cpus();
  const int rc = run_pinned(cpus.measuring, kOther, [&] {
    for (auto _ : state) op(task);
  });
  if (rc < 0) state.SkipWithError((std::string("pinned thread: ") + std::strerror(-rc)).c_str());
  benchmark::DoNotOptimize(task.resched_seen);
}

void bare_preempt_count_inc_dec(benchmark::State& state) {
  bare_loop(state, [](BareTask& t) {
    bare_count_add(t, 1);
    bare_count_sub_check(t, 1);
  });
}
BENCHMARK(bare_preempt_count_inc_dec);

void bare_spin_lock_unlock(benchmark::State& state) {
  bare_loop(state, [](BareTask& t) {
    bare_count_add(t, 1);
    uint32_t expected = 0;
    while (!t.lock.compare_exchange_weak(expected, 1, std::memory_order_acquire,
                                         std::memory_order_relaxed)) {
      expected = 0;
    }
    t.lock.store(0, std::memory_order_release);
    bare_count_sub_check(t, 1);
  });
}
BENCHMARK(bare_spin_lock_unlock);

// ------------------------------------------------------------------------------------------
// futex_pingpong_half: two threads on the measuring CPU at the same priority
// hand control back and forth through two futex words. One iteration is one
// round trip; its manual time is half of it, so real_time is one hand-over:
// a FUTEX_WAKE, the waker's own FUTEX_WAIT, the context switch, and the
// woken thread returning to user space. At equal SCHED_FIFO priority the
// woken thread does not preempt the waker; it runs when the waker blocks,
// exactly as a same-CPU dispatch does.
//
// No timeouts on the waits (a timeout arms an hrtimer per wait and would be
// measured): termination follows from the protocol. The responder is
// started first and checked; the initiator always ends by sending kStop.
//
// The pair keeps its CPU 100 % busy, so after every kPingpongChunk round
// trips both threads rest for a third of the chunk's wall time (outside the
// manual time): at most 75 % SCHED_FIFO duty, below the RT throttle
// (950000/1000000), which would otherwise freeze the pair for up to 50 ms
// when repetitions run back to back, and room for CPU-bound kernel work on
// that CPU.

constexpr int64_t kPingpongRoundTrips = 200'000;
constexpr int64_t kPingpongChunk = 8'192;
constexpr uint32_t kPing = 1;
constexpr uint32_t kStop = 2;

void futex_pingpong_half(benchmark::State& state) {
  const CpuChoice cpus = pick_cpus();
  if (cpus.measuring < 0) {
    state.SkipWithError("cannot read the CPU affinity mask");
    return;
  }
  const Sched sched = choose_rt_sched(state);
  auto hist = std::make_unique<LatencyHistogram>();

  // 0 = idle; ping: 0 -> kPing (initiator) -> 0 (responder); pong: 0 -> 1 -> 0.
  std::atomic<uint32_t> ping{0};
  std::atomic<uint32_t> pong{0};

  PinnedThread responder;
  int rc = responder.start(cpus.measuring, sched, [&] {
    for (;;) {
      uint32_t v;
      while ((v = ping.load(std::memory_order_acquire)) == 0) sys::futex_wait(&ping, 0);
      if (v == kStop) return;
      ping.store(0, std::memory_order_relaxed);
      pong.store(1, std::memory_order_release);
      sys::futex_wake(&pong, 1);
    }
  });
  if (rc < 0) {
    state.SkipWithError((std::string("responder thread: ") + std::strerror(-rc)).c_str());
    return;
  }

  rc = run_pinned(cpus.measuring, sched, [&] {
    int64_t chunk_start = sys::now_ns();
    int64_t in_chunk = 0;
    for (auto _ : state) {
      const int64_t t0 = sys::now_ns();
      ping.store(kPing, std::memory_order_release);
      sys::futex_wake(&ping, 1);
      while (pong.load(std::memory_order_acquire) == 0) sys::futex_wait(&pong, 0);
      pong.store(0, std::memory_order_relaxed);
      const int64_t t1 = sys::now_ns();
      record_iteration_latency(state, *hist, (t1 - t0) / 2);
      if (++in_chunk == kPingpongChunk) {
        sys::sleep_until_ns(t1 + (t1 - chunk_start) / 3);
        chunk_start = sys::now_ns();
        in_chunk = 0;
      }
    }
  });
  // Whether the initiator ran or not, the responder is waiting for ping.
  ping.store(kStop, std::memory_order_release);
  sys::futex_wake(&ping, 1);
  responder.join();
  if (rc < 0) {
    state.SkipWithError((std::string("initiator thread: ") + std::strerror(-rc)).c_str());
    return;
  }
  set_latency_counters(state, *hist);
}
BENCHMARK(futex_pingpong_half)->UseManualTime()->Iterations(kPingpongRoundTrips);

// ------------------------------------------------------------------------------------------
// posix_timer_to_handler: a one-shot CLOCK_MONOTONIC POSIX timer, armed
// TIMER_ABSTIME at now + 50..200 us, delivered with SIGEV_THREAD_ID to a
// thread pinned on the measuring CPU and blocked in sigsuspend. Lateness =
// first instruction of the handler - programmed expiry: hrtimer interrupt,
// signal generation, wakeup, switch, signal-frame setup. The kernel's
// one-hop path, peer of the executive's tick_to_handler.

constexpr int64_t kTimerShots = 10'000;

// Written by the handler (clock_gettime and one store), read by the thread
// it interrupted after sigsuspend returns.
std::atomic<int64_t> g_timer_handler_ns{0};

void on_timer_signal(int) { g_timer_handler_ns.store(sys::now_ns(), std::memory_order_relaxed); }

void posix_timer_to_handler(benchmark::State& state) {
  const CpuChoice cpus = pick_cpus();
  if (cpus.measuring < 0) {
    state.SkipWithError("cannot read the CPU affinity mask");
    return;
  }
  const int sig = posix_timer_signal();
  const ScopedSignalAction action(sig, &on_timer_signal);
  if (action.status() < 0) {
    state.SkipWithError((std::string("sigaction: ") + std::strerror(-action.status())).c_str());
    return;
  }
  const Sched sched = choose_rt_sched(state);
  auto hist = std::make_unique<LatencyHistogram>();

  // The thread starts with every signal blocked; `sig` is unblocked only
  // inside sigsuspend, so the handler always runs there and never between
  // arming and waiting.
  const int rc = run_pinned(cpus.measuring, sched, [&] {
    sigevent sev;
    std::memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = sig;
    sev._sigev_un._tid = sys::gettid();  // sigev_notify_thread_id: glibc >= 2.35 only
    timer_t timer;
    if (::timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) {
      state.SkipWithError((std::string("timer_create: ") + std::strerror(errno)).c_str());
      return;
    }
    const sigset_t wait_mask = all_blocked_except(sig);
    Jitter jitter(0x7123'0001, kMinDelayNs, kMaxDelayNs);
    for (auto _ : state) {
      g_timer_handler_ns.store(0, std::memory_order_relaxed);
      const int64_t expiry = sys::now_ns() + jitter.next();
      itimerspec its{};
      its.it_value = sys::to_timespec(expiry);
      if (::timer_settime(timer, TIMER_ABSTIME, &its, nullptr) != 0) fatal("timer_settime", errno);
      // A one-shot armed timer always fires; sigsuspend returns after the handler.
      while (g_timer_handler_ns.load(std::memory_order_relaxed) == 0) ::sigsuspend(&wait_mask);
      record_iteration_latency(state, *hist,
                               g_timer_handler_ns.load(std::memory_order_relaxed) - expiry);
    }
    ::timer_delete(timer);
  });
  if (rc < 0) {
    state.SkipWithError((std::string("timer thread: ") + std::strerror(-rc)).c_str());
    return;
  }
  set_latency_counters(state, *hist);
}
BENCHMARK(posix_timer_to_handler)->UseManualTime()->Iterations(kTimerShots);

// ------------------------------------------------------------------------------------------
// tgkill_cross_cpu: a sender on the other CPU (SCHED_OTHER, sleeping between
// sends) signals a receiver pinned on the measuring CPU and blocked in
// sigsuspend. Latency = receiver's handler entry - sender's timestamp taken
// right before tgkill: the syscall, the cross-CPU wakeup (IPI), the switch
// and the signal frame. Peer of the executive's remote_wakeup_ipi.
//
// Handshake per iteration: the receiver bumps `go` and blocks; the sender,
// woken by `go`, sleeps 50..200 us (so the receiver is surely blocked, and
// sends do not phase-lock with the tick), stamps, sends. Nothing waits with
// a timeout: every wait is ended by the protocol (the receiver always ends
// with stop, and the benchmark thread sends stop if the receiver never ran).

constexpr int64_t kTgkillSends = 10'000;

std::atomic<int64_t> g_tgkill_handler_ns{0};

void on_tgkill_signal(int) { g_tgkill_handler_ns.store(sys::now_ns(), std::memory_order_relaxed); }

struct TgkillShared {
  std::atomic<uint32_t> go{0};  // bumped once per send request
  std::atomic<bool> stop{false};
  std::atomic<pid_t> receiver_tid{0};
  std::atomic<int64_t> send_ns{0};
};

void tgkill_cross_cpu(benchmark::State& state) {
  const CpuChoice cpus = pick_cpus();
  if (cpus.measuring < 0) {
    state.SkipWithError("cannot read the CPU affinity mask");
    return;
  }
  if (cpus.other < 0) {
    state.SkipWithError("needs 2 CPUs");
    return;
  }
  const int sig = tgkill_signal();
  const ScopedSignalAction action(sig, &on_tgkill_signal);
  if (action.status() < 0) {
    state.SkipWithError((std::string("sigaction: ") + std::strerror(-action.status())).c_str());
    return;
  }
  const Sched sched = choose_rt_sched(state);
  auto hist = std::make_unique<LatencyHistogram>();
  TgkillShared sh;

  // The sender keeps every signal blocked (PinnedThread's default).
  PinnedThread sender;
  int rc = sender.start(cpus.other, kOther, [&sh, sig] {
    // Exact sleeps keep the run short; the delay is not part of the measure.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    Jitter jitter(0x7123'0002, kMinDelayNs, kMaxDelayNs);
    uint32_t seen = 0;
    for (;;) {
      uint32_t g;
      while ((g = sh.go.load(std::memory_order_acquire)) == seen) sys::futex_wait(&sh.go, seen);
      seen = g;
      if (sh.stop.load(std::memory_order_acquire)) return;
      sys::sleep_until_ns(sys::now_ns() + jitter.next());
      const pid_t target = sh.receiver_tid.load(std::memory_order_relaxed);
      sh.send_ns.store(sys::now_ns(), std::memory_order_release);
      const int err = sys::tgkill(target, sig);
      if (err < 0) fatal("tgkill to the receiver", err);
    }
  });
  if (rc < 0) {
    state.SkipWithError((std::string("sender thread: ") + std::strerror(-rc)).c_str());
    return;
  }

  rc = run_pinned(cpus.measuring, sched, [&] {
    sh.receiver_tid.store(sys::gettid(), std::memory_order_relaxed);
    const sigset_t wait_mask = all_blocked_except(sig);
    for (auto _ : state) {
      g_tgkill_handler_ns.store(0, std::memory_order_relaxed);
      sh.go.fetch_add(1, std::memory_order_release);
      sys::futex_wake(&sh.go, 1);
      while (g_tgkill_handler_ns.load(std::memory_order_relaxed) == 0) ::sigsuspend(&wait_mask);
      record_iteration_latency(state, *hist,
                               g_tgkill_handler_ns.load(std::memory_order_relaxed) -
                                   sh.send_ns.load(std::memory_order_acquire));
    }
  });
  // Whether the receiver ran or not, the sender waits for `go`.
  sh.stop.store(true, std::memory_order_release);
  sh.go.fetch_add(1, std::memory_order_release);
  sys::futex_wake(&sh.go, 1);
  sender.join();
  if (rc < 0) {
    state.SkipWithError((std::string("receiver thread: ") + std::strerror(-rc)).c_str());
    return;
  }
  set_latency_counters(state, *hist);
}
BENCHMARK(tgkill_cross_cpu)->UseManualTime()->Iterations(kTgkillSends);

}  // namespace
}  // namespace pb::bench
