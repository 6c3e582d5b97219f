// The executive's primitives, each beside its peer in peers_benchmark.cc. The
// names are stable so results stay comparable over time:
//
//   preempt_disable_enable   inline fast path, nothing pending
//   local_irq_save_restore   inline fast path, nothing pending
//   cond_resched_idle        NONE model (a real point), nothing to switch to
//   dispatch_same_vcpu/N     block -> first instruction of the next task, N
//                            tasks in a ring on one vCPU (peer:
//                            futex_pingpong_half)
//   tick_to_handler          the tick's programmed expiry -> first
//                            instruction of the hardirq handler (peer:
//                            posix_timer_to_handler)
//   remote_wakeup_ipi        wake() from another vCPU -> first instruction of
//                            the woken task (peer: tgkill_cross_cpu)
//
// Each benchmark runs one executive once (->Iterations(1)), for a bounded
// duration, and reports from what that run measured: the per-operation mean
// as manual time, and for latencies p50/p99/max counters from a histogram.
// The executive's task bodies must not call libc that takes locks (task.h),
// so the Google Benchmark loop stays on the benchmark's thread and the
// bodies only time and record into storage allocated before start().
//
// Machine safety (bench_util.h): the executive keeps CPU 0 for the system
// (one vCPU on the last allowed CPU) everywhere except remote_wakeup_ipi,
// which needs two vCPUs; there the task on the system CPU is a fair task
// that sleeps between wakeups (never spins), and the spinning-free wakee
// blocks between them. Every run is bounded by run_for() and by the
// executive's watchdog.
//
//   raw_spin_lock_unlock     uncontended raw_spinlock_t, FULL
//   raw_spin_lock_unlock_windows  the same with Config::track_windows on
//   rt_mutex_lock_unlock     uncontended rt_mutex: the might_sleep() check
//                            and point, the TID CAS both ways (peer:
//                            pthread_pi_mutex_lock_unlock)
//   rt_mutex_contended_handoff  rt_mutex_unlock() by a boosted owner -> the
//                            first instruction of the waiter it handed the
//                            lock to (FUTEX_UNLOCK_PI, the waiter's wakeup,
//                            the switch), one vCPU
//   executive_tax            work per second of a pure-compute loop in
//                            emulated kernel mode under NONE, against the
//                            same loop on a plain thread on the same CPU
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"
#include "pb/executive/executive.h"
#include "pb/executive/task.h"
#include "pb/histogram.h"
#include "pb/sys.h"

namespace pb::bench {
namespace {

using exec::Completion;
using exec::Config;
using exec::Executive;
using exec::Model;
using exec::Policy;
using exec::TaskApi;
using exec::TaskId;

constexpr int64_t kMs = 1'000'000;
// Upper bound for every run_for(): a benchmark ends well inside ~10 s even
// when the host is slow (the watchdog adds its own deadline on top).
constexpr int64_t kMaxRunNs = 8'000 * kMs;

// The label: why figures are not what they claim (no host SCHED_FIFO, the
// watchdog ended the run). Returns false when the run is unusable.
bool check_run(benchmark::State& state, const Executive& ex, bool want_fifo) {
  const exec::RunResult& r = ex.result();
  if (r.watchdog_tripped) {
    state.SkipWithError(("executive watchdog: " + r.watchdog_message).c_str());
    return false;
  }
  if (want_fifo && !r.host_fifo) {
    std::string label = "no SCHED_FIFO: measured at SCHED_OTHER";
    if (!r.notes.empty()) label += " (" + r.notes.front() + ")";
    state.SetLabel(label);
  }
  return true;
}

// Runs `op` n times in the body of one task on one vCPU (in kernel mode,
// nothing pending) and reports the mean per call as manual time.
template <typename Op>
void inline_op_benchmark(benchmark::State& state, Model model, int n, Op op,
                         bool track_windows = false) {
  Config c;
  c.model = model;
  c.track_windows = track_windows;
  // The cost does not depend on the host policy; a busy loop has no business
  // holding a CPU at SCHED_FIFO (as pthread_pi_mutex_lock_unlock).
  c.use_fifo = false;
  c.trace_capacity = 16;
  for (auto _ : state) {
    Executive ex(c);
    std::atomic<int64_t> elapsed{-1};
    ex.add_task({.name = "ops", .policy = Policy::kFair, .body = [&](TaskApi& api) {
                   api.kernel_enter();
                   const int64_t t0 = sys::now_ns();
                   for (int i = 0; i < n; ++i) op(api);
                   elapsed.store(sys::now_ns() - t0, std::memory_order_relaxed);
                   api.request_stop();
                 }});
    if (ex.start() != 0) {
      state.SkipWithError(("executive start: " + ex.error()).c_str());
      return;
    }
    ex.run_for(kMaxRunNs);
    if (!check_run(state, ex, false)) return;
    const int64_t ns = elapsed.load(std::memory_order_relaxed);
    if (ns < 0) {
      state.SkipWithError("the task did not finish its loop within the run");
      return;
    }
    state.SetIterationTime(static_cast<double>(ns) * 1e-9 / n);
    state.counters["calls"] = benchmark::Counter(static_cast<double>(n));
  }
}

// ------------------------------------------------------------------------------------------
// preempt_disable_enable / local_irq_save_restore: the inline fast paths.

void preempt_disable_enable(benchmark::State& state) {
  inline_op_benchmark(state, Model::kFull, 20'000'000, [](TaskApi& api) {
    api.preempt_disable();
    api.preempt_enable();
  });
}
BENCHMARK(preempt_disable_enable)->UseManualTime()->Iterations(1)->Unit(benchmark::kNanosecond);

void local_irq_save_restore(benchmark::State& state) {
  inline_op_benchmark(state, Model::kFull, 20'000'000, [](TaskApi& api) {
    const unsigned long flags = api.local_irq_save();
    api.local_irq_restore(flags);
  });
}
BENCHMARK(local_irq_save_restore)->UseManualTime()->Iterations(1)->Unit(benchmark::kNanosecond);

// ------------------------------------------------------------------------------------------
// cond_resched_idle: under NONE, where cond_resched() is a preemption point
// (under FULL it is only the debug check), with nothing to switch to.

void cond_resched_idle(benchmark::State& state) {
  state.SetLabel("model=NONE");
  inline_op_benchmark(state, Model::kNone, 2'000'000, [](TaskApi& api) { api.cond_resched(); });
}
BENCHMARK(cond_resched_idle)->UseManualTime()->Iterations(1)->Unit(benchmark::kNanosecond);

// ------------------------------------------------------------------------------------------
// dispatch_same_vcpu/N: N equal-priority FIFO tasks on one vCPU in a ring of
// completions. Each task completes the next one's completion, stamps the
// time and blocks; the sample is that stamp -> the next task's first
// instruction after wait_for_completion() returns (schedule() on block, the
// dispatch, the host hand-over). Manual time: the mean sample.

constexpr int kDispatchHops = 100'000;

void dispatch_same_vcpu(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Config c;
  c.model = Model::kFull;
  c.trace_capacity = 16;
  auto hist = std::make_unique<LatencyHistogram>();
  for (auto _ : state) {
    Executive ex(c);
    std::vector<Completion> comp(static_cast<size_t>(n));
    std::atomic<int> count{0};
    std::atomic<int64_t> stamp{0};
    std::atomic<bool> finished{false};
    for (int i = 0; i < n; ++i) {
      const TaskId id =
          ex.add_task({.name = "r" + std::to_string(i),
                       .policy = Policy::kFifo,
                       .priority = 10,
                       .body = [&, i](TaskApi& api) {
                         api.kernel_enter();
                         if (i == 0) api.complete(comp[0]);
                         for (;;) {
                           if (!api.wait_for_completion(comp[static_cast<size_t>(i)])) return;
                           const int64_t now = sys::now_ns();
                           const int64_t s = stamp.load(std::memory_order_relaxed);
                           if (s != 0) hist->record(now - s);
                           if (count.fetch_add(1, std::memory_order_relaxed) >= kDispatchHops) {
                             finished.store(true, std::memory_order_relaxed);
                             api.request_stop();
                             return;
                           }
                           api.complete(comp[static_cast<size_t>((i + 1) % n)]);
                           // Then block in wait_for_completion(): the next task's dispatch.
                           stamp.store(sys::now_ns(), std::memory_order_relaxed);
                         }
                       }});
      if (id < 0) {
        state.SkipWithError(("add_task: " + ex.error()).c_str());
        return;
      }
    }
    if (ex.start() != 0) {
      state.SkipWithError(("executive start: " + ex.error()).c_str());
      return;
    }
    ex.run_for(kMaxRunNs);
    if (!check_run(state, ex, true)) return;
    if (hist->count() == 0) {
      state.SkipWithError("no dispatch was measured");
      return;
    }
    if (!finished.load(std::memory_order_relaxed)) {
      state.SetLabel("run ended before all hops: partial sample");
    }
    state.SetIterationTime(hist->mean() * 1e-9);
  }
  set_latency_counters(state, *hist);
  state.counters["samples"] = benchmark::Counter(static_cast<double>(hist->count()));
}
BENCHMARK(dispatch_same_vcpu)
    ->Arg(4)
    ->Arg(64)
    ->Arg(1000)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kNanosecond);

// ------------------------------------------------------------------------------------------
// tick_to_handler: the executive's own tick-lateness histogram
// (VcpuStats::tick_lateness: programmed expiry -> entry of the handler on
// the vCPU's current task), 1000 Hz, NONE, for one second with a FIFO task
// computing on the measuring CPU (the interrupted task is running, as in a
// busy kernel; the executive's watchdog bounds it). Manual time: the mean.

void tick_to_handler(benchmark::State& state) {
  Config c;
  c.model = Model::kNone;
  c.hz = 1000;
  c.trace_capacity = 16;
  LatencyHistogram h;
  for (auto _ : state) {
    Executive ex(c);
    ex.add_task({.name = "busy", .policy = Policy::kFifo, .priority = 50, .body = [](TaskApi& api) {
                   api.kernel_enter();
                   api.compute(1'000 * kMs);
                   api.request_stop();
                 }});
    if (ex.start() != 0) {
      state.SkipWithError(("executive start: " + ex.error()).c_str());
      return;
    }
    ex.run_for(kMaxRunNs);
    if (!check_run(state, ex, true)) return;
    const exec::VcpuStats& v = ex.result().vcpus.at(0);
    if (!v.tick_lateness || v.tick_lateness->count() == 0) {
      state.SkipWithError("no tick lateness was recorded");
      return;
    }
    h = *v.tick_lateness;
    state.SetIterationTime(h.mean() * 1e-9);
    state.counters["ticks_missed"] = benchmark::Counter(static_cast<double>(v.ticks_missed));
  }
  set_latency_counters(state, h);
  state.counters["samples"] = benchmark::Counter(static_cast<double>(h.count()));
}
BENCHMARK(tick_to_handler)->UseManualTime()->Iterations(1)->Unit(benchmark::kNanosecond);

// ------------------------------------------------------------------------------------------
// remote_wakeup_ipi: two vCPUs (this one needs allow_system_cpu). The wakee,
// a FIFO task on vCPU 0 (the measuring CPU), blocks in block(); the waker, a
// fair task on vCPU 1 (the system CPU), sleeps 1 ms, stamps and wake()s it:
// the reschedule IPI, the hardirq on vCPU 0, the dispatch. Neither task
// spins. The sample: stamp -> the wakee's first instruction after block().

constexpr int kRemoteWakeups = 2'000;

void remote_wakeup_ipi(benchmark::State& state) {
  const CpuChoice cpus = pick_cpus();
  if (cpus.measuring < 0 || cpus.other < 0) {
    state.SkipWithError("needs 2 CPUs");
    return;
  }
  Config c;
  c.model = Model::kFull;
  c.vcpus = 2;
  c.allow_system_cpu = true;
  c.trace_capacity = 16;
  auto hist = std::make_unique<LatencyHistogram>();
  uint64_t ipis_received = 0;
  for (auto _ : state) {
    Executive ex(c);
    std::atomic<int64_t> stamp{0};
    std::atomic<bool> done{false};
    const TaskId wakee = ex.add_task({.name = "wakee",
                                      .policy = Policy::kFifo,
                                      .priority = 50,
                                      .vcpu = 0,
                                      .start_blocked = true,
                                      .body = [&](TaskApi& api) {
                                        api.kernel_enter();
                                        for (;;) {
                                          const int64_t now = sys::now_ns();
                                          const int64_t s = stamp.exchange(0);
                                          if (s != 0) hist->record(now - s);
                                          if (done.load()) {
                                            api.request_stop();
                                            return;
                                          }
                                          if (!api.block()) return;
                                        }
                                      }});
    if (wakee < 0) {
      state.SkipWithError(("add_task: " + ex.error()).c_str());
      return;
    }
    ex.add_task(
        {.name = "waker", .policy = Policy::kFair, .vcpu = 1, .body = [&, wakee](TaskApi& api) {
           api.kernel_enter();
           for (int i = 0; i < kRemoteWakeups && api.running(); ++i) {
             api.msleep(1);
             stamp.store(sys::now_ns());
             api.wake(wakee);
           }
           done.store(true);
           api.msleep(1);
           api.wake(wakee);
         }});
    if (ex.start() != 0) {
      state.SkipWithError(("executive start: " + ex.error()).c_str());
      return;
    }
    ex.run_for(kMaxRunNs);
    if (!check_run(state, ex, true)) return;
    if (hist->count() == 0) {
      state.SkipWithError("no wakeup was measured");
      return;
    }
    ipis_received = ex.result().vcpus.at(0).ipis_received;
    state.SetIterationTime(hist->mean() * 1e-9);
  }
  set_latency_counters(state, *hist);
  state.counters["samples"] = benchmark::Counter(static_cast<double>(hist->count()));
  state.counters["ipis"] = benchmark::Counter(static_cast<double>(ipis_received));
}
BENCHMARK(remote_wakeup_ipi)->UseManualTime()->Iterations(1)->Unit(benchmark::kNanosecond);

// ------------------------------------------------------------------------------------------
// raw_spin_lock_unlock: uncontended, preempt_disable() + CAS + store +
// preempt_enable(); with and without the window trackers.

exec::RawSpinlock g_raw_lock("bench");
exec::RtMutex g_rt_mutex("bench");

void raw_spin_lock_unlock(benchmark::State& state) {
  inline_op_benchmark(state, Model::kFull, 10'000'000, [](TaskApi& api) {
    api.raw_spin_lock(g_raw_lock);
    api.raw_spin_unlock(g_raw_lock);
  });
}
BENCHMARK(raw_spin_lock_unlock)->UseManualTime()->Iterations(1)->Unit(benchmark::kNanosecond);

void raw_spin_lock_unlock_windows(benchmark::State& state) {
  inline_op_benchmark(
      state, Model::kFull, 10'000'000,
      [](TaskApi& api) {
        api.raw_spin_lock(g_raw_lock);
        api.raw_spin_unlock(g_raw_lock);
      },
      true);
}
BENCHMARK(raw_spin_lock_unlock_windows)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kNanosecond);

// rt_mutex_lock_unlock: uncontended, FULL (where might_resched() is not a
// point but is still consulted).
void rt_mutex_lock_unlock(benchmark::State& state) {
  inline_op_benchmark(state, Model::kFull, 5'000'000, [](TaskApi& api) {
    api.rt_mutex_lock(g_rt_mutex);
    api.rt_mutex_unlock(g_rt_mutex);
  });
}
BENCHMARK(rt_mutex_lock_unlock)->UseManualTime()->Iterations(1)->Unit(benchmark::kNanosecond);

// ------------------------------------------------------------------------------------------
// rt_mutex_contended_handoff: one vCPU, FULL. L (FIFO 10) takes the lock
// and completes H's completion; H (FIFO 30) preempts it, wants the lock and
// blocks in FUTEX_LOCK_PI, boosting L; L stamps and unlocks; the sample ends
// at H's first instruction after rt_mutex_lock() returns. H then releases
// the lock and waits for the next round.

constexpr int kHandoffs = 20'000;

void rt_mutex_contended_handoff(benchmark::State& state) {
  Config c;
  c.model = Model::kFull;
  c.trace_capacity = 16;
  auto hist = std::make_unique<LatencyHistogram>();
  uint64_t boosts = 0;
  for (auto _ : state) {
    Executive ex(c);
    exec::RtMutex lock("handoff");
    Completion go;
    Completion back;
    std::atomic<int64_t> stamp{0};
    ex.add_task({.name = "L", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                   api.kernel_enter();
                   for (int i = 0; i < kHandoffs && api.running(); ++i) {
                     if (!api.rt_mutex_lock(lock)) return;
                     api.complete(go);  // H runs, blocks on the lock
                     stamp.store(sys::now_ns(), std::memory_order_relaxed);
                     api.rt_mutex_unlock(lock);
                     if (!api.wait_for_completion(back)) return;
                   }
                   api.request_stop();
                 }});
    ex.add_task({.name = "H", .policy = Policy::kFifo, .priority = 30, .body = [&](TaskApi& api) {
                   api.kernel_enter();
                   for (;;) {
                     if (!api.wait_for_completion(go)) return;
                     if (!api.rt_mutex_lock(lock)) return;
                     const int64_t now = sys::now_ns();
                     const int64_t s = stamp.exchange(0, std::memory_order_relaxed);
                     if (s != 0) hist->record(now - s);
                     api.rt_mutex_unlock(lock);
                     api.complete(back);
                   }
                 }});
    if (ex.start() != 0) {
      state.SkipWithError(("executive start: " + ex.error()).c_str());
      return;
    }
    ex.run_for(kMaxRunNs);
    if (!check_run(state, ex, true)) return;
    if (hist->count() == 0) {
      state.SkipWithError("no handoff was measured");
      return;
    }
    boosts = ex.result().vcpus.at(0).pi_boosts;
    state.SetIterationTime(hist->mean() * 1e-9);
  }
  set_latency_counters(state, *hist);
  state.counters["samples"] = benchmark::Counter(static_cast<double>(hist->count()));
  state.counters["pi_boosts"] = benchmark::Counter(static_cast<double>(boosts));
}
BENCHMARK(rt_mutex_contended_handoff)->UseManualTime()->Iterations(1)->Unit(benchmark::kNanosecond);

// ------------------------------------------------------------------------------------------
// executive_tax: the target "pure compute in emulated kernel mode under
// NONE completes >= 97 % of the work per second of the same loop without
// the executive". Both loops run the same work unit (a few hundred
// dependent integer operations) for the same wall time on the measuring CPU
// at SCHED_OTHER, one after the other in this process; the executive's loop
// takes its tick (250 Hz) and runs its accounting. Counters: units/s of
// each, and `ratio` = executive / plain. Manual time: one unit's mean cost
// inside the executive.

constexpr int64_t kTaxRunNs = 1'000 * kMs;

inline uint64_t work_unit(uint64_t x) noexcept {
  for (int i = 0; i < 256; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
  return x;
}

template <typename Now>
uint64_t units_for(int64_t ns, uint64_t* sink, Now now) {
  const int64_t end = now() + ns;
  uint64_t units = 0;
  uint64_t x = *sink;
  while (now() < end) {
    for (int k = 0; k < 64; ++k) x = work_unit(x);
    benchmark::DoNotOptimize(x);
    units += 64;
  }
  *sink = x;
  return units;
}

void executive_tax(benchmark::State& state) {
  const CpuChoice cpus = pick_cpus();
  Config c;
  c.model = Model::kNone;
  c.trace_capacity = 16;
  const Sched sched = choose_rt_sched(state, 1);
  double exec_units_sum = 0, exec_ns_sum = 0, plain_units_sum = 0, plain_ns_sum = 0;
  uint64_t sink = 1;
  for (auto _ : state) {
    for (int round = 0; round < 3; ++round) {
      uint64_t plain_units = 0;
      int64_t plain_ns = 0;
      const int rc = run_pinned(cpus.measuring, sched, [&] {
        const int64_t t0 = sys::now_ns();
        plain_units = units_for(kTaxRunNs, &sink, [] { return sys::now_ns(); });
        plain_ns = sys::now_ns() - t0;
      });
      if (rc < 0) {
        state.SkipWithError("pinned thread failed");
        return;
      }
      Executive ex(c);
      std::atomic<uint64_t> exec_units{0};
      std::atomic<int64_t> exec_ns{0};
      ex.add_task(
          {.name = "compute", .policy = Policy::kFifo, .priority = 1, .body = [&](TaskApi& api) {
             api.kernel_enter();
             const int64_t t0 = api.now_ns();
             uint64_t x = 7;
             exec_units.store(units_for(kTaxRunNs, &x, [&] { return api.now_ns(); }));
             exec_ns.store(api.now_ns() - t0);
             api.kernel_exit();
             api.request_stop();
           }});
      if (ex.start() != 0) {
        state.SkipWithError(("executive start: " + ex.error()).c_str());
        return;
      }
      ex.run_for(kMaxRunNs);
      if (!check_run(state, ex, sched.policy == SCHED_FIFO)) return;
      if (exec_ns.load() <= 0 || plain_ns <= 0) {
        state.SkipWithError("a loop did not finish");
        return;
      }
      exec_units_sum += static_cast<double>(exec_units.load());
      exec_ns_sum += static_cast<double>(exec_ns.load());
      plain_units_sum += static_cast<double>(plain_units);
      plain_ns_sum += static_cast<double>(plain_ns);
    }
    state.SetIterationTime(exec_ns_sum * 1e-9 / exec_units_sum);
  }
  const double exec_rate = exec_ns_sum > 0 ? exec_units_sum * 1e9 / exec_ns_sum : 0;
  const double plain_rate = plain_ns_sum > 0 ? plain_units_sum * 1e9 / plain_ns_sum : 0;
  benchmark::DoNotOptimize(sink);
  state.counters["exec_units_per_s"] = benchmark::Counter(exec_rate);
  state.counters["plain_units_per_s"] = benchmark::Counter(plain_rate);
  state.counters["ratio"] = benchmark::Counter(plain_rate > 0 ? exec_rate / plain_rate : 0);
}
BENCHMARK(executive_tax)->UseManualTime()->Iterations(1)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace pb::bench
