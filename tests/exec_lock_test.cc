// Locks on the executive (one vCPU): what each model does with each lock
// type, priority inheritance through rt_mutex on PI futexes, per-CPU access,
// the sleeping-in-atomic reports at lock acquisition, and the preempt-off /
// irq-off window trackers. Deterministic: the assertions are on the order in
// which tasks did things (a log in storage allocated before the run), on
// counters, and on lower bounds of windows that noise can only lengthen.
#include <sys/resource.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "emulator_guard.h"
#include "pb/executive/executive.h"
#include "pb/sys.h"

namespace {

using pb::exec::Config;
using pb::exec::Executive;
using pb::exec::Model;
using pb::exec::Mutex;
using pb::exec::PerCpu;
using pb::exec::Policy;
using pb::exec::RawSpinlock;
using pb::exec::RtMutex;
using pb::exec::RunResult;
using pb::exec::Spinlock;
using pb::exec::TaskApi;
using pb::exec::TaskSpec;

constexpr int64_t kRunBound = 5'000'000'000;

class Log {
 public:
  void add(int e) noexcept {
    const int i = n_.fetch_add(1, std::memory_order_relaxed);
    if (i < static_cast<int>(ev_.size())) ev_[static_cast<size_t>(i)] = e;
  }
  std::vector<int> events() const {
    std::vector<int> out;
    const int n = std::min(n_.load(), static_cast<int>(ev_.size()));
    for (int i = 0; i < n; ++i) out.push_back(ev_[static_cast<size_t>(i)]);
    return out;
  }

 private:
  std::array<int, 256> ev_{};
  std::atomic<int> n_{0};
};

Config quiet_config(Model m) {
  Config c;
  c.model = m;
  c.watchdog_budget_ns = 200'000'000;
  c.print_debug_reports = false;
  return c;
}

// PI futexes need a kernel built with FUTEX_PI (every distribution kernel);
// probe instead of assuming.
bool pi_futexes_work(std::string* why) {
  std::atomic<uint32_t> w{0};
  int r = pb::sys::futex_lock_pi(&w);
  if (r == 0) r = pb::sys::futex_unlock_pi(&w);
  if (r != 0) *why = std::string("PI futexes unavailable: ") + std::strerror(-r);
  return r == 0;
}

#define SKIP_WITHOUT_PI()                              \
  do {                                                 \
    PB_SKIP_UNDER_EMULATOR();                          \
    std::string why_;                                  \
    if (!pi_futexes_work(&why_)) GTEST_SKIP() << why_; \
  } while (0)

RunResult run(Executive& ex) {
  const int rc = ex.start();
  EXPECT_EQ(rc, 0) << ex.error();
  if (rc != 0) return {};
  ex.run_for(kRunBound);
  return ex.result();
}

// --- priority inheritance ------------------------------------------------------------------
//
// L (FIFO 10) takes the lock and wakes H (FIFO 30) and M (FIFO 20, CPU-bound),
// then passes cond_resched() (a point in every model that needs one). H
// wants the lock. With priority inheritance L runs at 30, so M cannot run
// until L has unlocked and H has had the lock; with a plain mutex M runs
// first and H waits for all of M's work (unbounded priority inversion).
enum Ev : int {
  kLLocked = 1,
  kLBoosted = 2,  // L saw its effective priority at H's
  kLUnlock = 3,
  kHTry = 10,
  kHLocked = 11,
  kMRun = 20,
  kMDone = 21,
};

template <typename Lock>
std::vector<int> inversion_order(Model m, RunResult* out) {
  Lock lock("shared");
  Log log;
  Executive ex(quiet_config(m));
  constexpr pb::exec::TaskId kH = 1;
  constexpr pb::exec::TaskId kM = 2;
  auto take = [](TaskApi& api, Lock& l) {
    if constexpr (std::is_same_v<Lock, RtMutex>) {
      return api.rt_mutex_lock(l);
    } else {
      return api.mutex_lock(l);
    }
  };
  auto drop = [](TaskApi& api, Lock& l) {
    if constexpr (std::is_same_v<Lock, RtMutex>) {
      api.rt_mutex_unlock(l);
    } else {
      api.mutex_unlock(l);
    }
  };
  ex.add_task({.name = "L", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 if (!take(api, lock)) return;
                 log.add(kLLocked);
                 api.wake(kH);
                 api.wake(kM);
                 api.cond_resched();
                 if (api.effective_priority() == 30) log.add(kLBoosted);
                 api.compute(1'000'000);
                 log.add(kLUnlock);
                 drop(api, lock);
                 api.cond_resched();
                 api.kernel_exit();
                 api.request_stop();
               }});
  ex.add_task({.name = "H",
               .policy = Policy::kFifo,
               .priority = 30,
               .start_blocked = true,
               .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 log.add(kHTry);
                 if (!take(api, lock)) return;
                 log.add(kHLocked);
                 drop(api, lock);
                 api.kernel_exit();
               }});
  ex.add_task({.name = "M",
               .policy = Policy::kFifo,
               .priority = 20,
               .start_blocked = true,
               .body = [&](TaskApi& api) {
                 log.add(kMRun);
                 api.compute(3'000'000);
                 log.add(kMDone);
               }});
  *out = run(ex);
  return log.events();
}

const std::vector<int> kWithPi = {kLLocked, kHTry, kLBoosted, kLUnlock, kHLocked, kMRun, kMDone};
const std::vector<int> kWithoutPi = {kLLocked, kHTry, kMRun, kMDone, kLUnlock, kHLocked};

class ExecPi : public ::testing::TestWithParam<Model> {};

TEST_P(ExecPi, RtMutexBoostsTheOwnerAboveTheMiddleTask) {
  SKIP_WITHOUT_PI();
  RunResult r;
  EXPECT_EQ(inversion_order<RtMutex>(GetParam(), &r), kWithPi);
  ASSERT_EQ(r.vcpus.size(), 1u);
  EXPECT_GE(r.vcpus[0].pi_boosts, 1u);
  EXPECT_GE(r.vcpus[0].lock_contentions, 1u);
  EXPECT_FALSE(r.watchdog_tripped) << r.watchdog_message;
}

INSTANTIATE_TEST_SUITE_P(EveryModel, ExecPi,
                         ::testing::Values(Model::kNone, Model::kVoluntary, Model::kFull,
                                           Model::kLazy, Model::kRt),
                         [](const auto& p) { return std::string(pb::exec::to_string(p.param)); });

// A PI chain: L (FIFO 10) holds B; Mid (FIFO 15) holds A and waits for B;
// H (FIFO 30) wants A. H's priority must reach L through Mid, so that X
// (FIFO 20, CPU-bound, woken with H) cannot run before H has A. With one
// level of inheritance L would stay at 15 and X would run first.
enum ChainEv : int {
  kCLLockedB = 1,
  kCLBoosted = 2,  // L saw its effective priority at H's
  kCLUnlockB = 3,
  kCMidLockedA = 10,
  kCMidGotB = 11,
  kCMidUnlockA = 12,
  kCHTry = 20,
  kCHLocked = 21,
  kCXRun = 30,
};

TEST_P(ExecPi, ChainLendsTheTopPriorityToTheLastOwner) {
  SKIP_WITHOUT_PI();
  RtMutex a("A"), b("B");
  Log log;
  Executive ex(quiet_config(GetParam()));
  constexpr pb::exec::TaskId kMid = 1, kH = 2, kX = 3;
  ex.add_task({.name = "L", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 if (!api.rt_mutex_lock(b)) return;
                 log.add(kCLLockedB);
                 api.wake(kMid);
                 api.cond_resched();  // Mid runs, takes A, blocks on B
                 api.wake(kH);
                 api.wake(kX);
                 api.cond_resched();  // H runs, blocks on A: the chain reaches L
                 if (api.effective_priority() == 30) log.add(kCLBoosted);
                 api.compute(1'000'000);
                 log.add(kCLUnlockB);
                 api.rt_mutex_unlock(b);
                 api.cond_resched();
                 api.kernel_exit();
                 api.request_stop();
               }});
  ex.add_task({.name = "Mid",
               .policy = Policy::kFifo,
               .priority = 15,
               .start_blocked = true,
               .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 if (!api.rt_mutex_lock(a)) return;
                 log.add(kCMidLockedA);
                 if (!api.rt_mutex_lock(b)) return;
                 log.add(kCMidGotB);
                 api.rt_mutex_unlock(b);
                 log.add(kCMidUnlockA);
                 api.rt_mutex_unlock(a);
                 api.kernel_exit();
               }});
  ex.add_task({.name = "H",
               .policy = Policy::kFifo,
               .priority = 30,
               .start_blocked = true,
               .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 log.add(kCHTry);
                 if (!api.rt_mutex_lock(a)) return;
                 log.add(kCHLocked);
                 api.rt_mutex_unlock(a);
                 api.kernel_exit();
               }});
  ex.add_task({.name = "X",
               .policy = Policy::kFifo,
               .priority = 20,
               .start_blocked = true,
               .body = [&](TaskApi& api) {
                 log.add(kCXRun);
                 api.compute(2'000'000);
               }});
  const RunResult r = run(ex);
  EXPECT_EQ(log.events(),
            (std::vector<int>{kCLLockedB, kCMidLockedA, kCHTry, kCLBoosted, kCLUnlockB, kCMidGotB,
                              kCMidUnlockA, kCHLocked, kCXRun}));
  EXPECT_GE(r.vcpus[0].pi_boosts, 3u);  // L by Mid, Mid by H, L by H through the chain
  EXPECT_FALSE(r.watchdog_tripped) << r.watchdog_message;
}

TEST(ExecPiMutex, PlainMutexLetsTheMiddleTaskRunFirstOffRt) {
  PB_SKIP_UNDER_EMULATOR();
  for (Model m : {Model::kNone, Model::kFull}) {
    RunResult r;
    EXPECT_EQ(inversion_order<Mutex>(m, &r), kWithoutPi) << pb::exec::to_string(m);
    EXPECT_EQ(r.vcpus[0].pi_boosts, 0u);
    EXPECT_GE(r.vcpus[0].lock_contentions, 1u);
  }
}

TEST(ExecPiMutex, MutexIsAnRtMutexOnRt) {
  SKIP_WITHOUT_PI();
  RunResult r;
  EXPECT_EQ(inversion_order<Mutex>(Model::kRt, &r), kWithPi);
  EXPECT_GE(r.vcpus[0].pi_boosts, 1u);
}

// --- spinning locks and the count ----------------------------------------------------------

// L holds the lock and wakes H. Off RT a spinlock_t holder is atomic, so H
// runs only after the unlock (the unlock's preempt_enable() is the point
// under FULL); on RT the holder stays preemptible and H runs inside.
std::vector<int> wake_inside_spinlock(Model m, bool raw, std::array<uint32_t, 2>* counts) {
  Spinlock sl("sl");
  RawSpinlock rl("rl");
  Log log;
  Executive ex(quiet_config(m));
  ex.add_task({.name = "L", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 if (raw) {
                   api.raw_spin_lock(rl);
                 } else {
                   api.spin_lock(sl);
                 }
                 (*counts)[0] = api.preempt_count();
                 log.add(1);
                 api.wake(1);
                 log.add(2);
                 if (raw) {
                   api.raw_spin_unlock(rl);
                 } else {
                   api.spin_unlock(sl);
                 }
                 (*counts)[1] = api.preempt_count();
                 log.add(3);
                 api.kernel_exit();
                 api.request_stop();
               }});
  ex.add_task({.name = "H",
               .policy = Policy::kFifo,
               .priority = 30,
               .start_blocked = true,
               .body = [&](TaskApi&) { log.add(10); }});
  run(ex);
  return log.events();
}

TEST(ExecSpinlock, HolderIsAtomicOffRtAndUnlockIsThePoint) {
  PB_SKIP_UNDER_EMULATOR();
  std::array<uint32_t, 2> counts{};
  EXPECT_EQ(wake_inside_spinlock(Model::kFull, false, &counts), (std::vector<int>{1, 2, 10, 3}));
  EXPECT_EQ(counts[0], pb::exec::kPreemptDisableOffset);
  EXPECT_EQ(counts[1], 0u);
}

TEST(ExecSpinlock, HolderIsPreemptibleOnRt) {
  SKIP_WITHOUT_PI();
  std::array<uint32_t, 2> counts{};
  EXPECT_EQ(wake_inside_spinlock(Model::kRt, false, &counts), (std::vector<int>{1, 10, 2, 3}));
  EXPECT_EQ(counts[0], 0u);
}

TEST(ExecSpinlock, RawSpinlockSpinsEvenOnRt) {
  PB_SKIP_UNDER_EMULATOR();
  std::array<uint32_t, 2> counts{};
  EXPECT_EQ(wake_inside_spinlock(Model::kRt, true, &counts), (std::vector<int>{1, 2, 10, 3}));
  EXPECT_EQ(counts[0], pb::exec::kPreemptDisableOffset);
}

TEST(ExecSpinlock, UnderNoneTheWakeeWaitsForReturnToUser) {
  PB_SKIP_UNDER_EMULATOR();
  std::array<uint32_t, 2> counts{};
  EXPECT_EQ(wake_inside_spinlock(Model::kNone, false, &counts), (std::vector<int>{1, 2, 3, 10}));
}

// On RT, H preempts the holder of a sleeping spinlock_t, wants it too, and
// boosts the holder; the lock passes to H at the unlock.
TEST(ExecSpinlock, RtSpinlockContentionBoostsTheHolder) {
  SKIP_WITHOUT_PI();
  Spinlock sl("sl");
  Log log;
  Executive ex(quiet_config(Model::kRt));
  ex.add_task({.name = "L", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 api.spin_lock(sl);
                 api.wake(1);  // H runs here, blocks on sl
                 log.add(api.effective_priority());
                 api.spin_unlock(sl);
                 log.add(api.effective_priority());
                 api.kernel_exit();
                 api.request_stop();
               }});
  ex.add_task({.name = "H",
               .policy = Policy::kFifo,
               .priority = 30,
               .start_blocked = true,
               .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 if (api.spin_lock(sl)) {
                   log.add(100);
                   api.spin_unlock(sl);
                 }
                 api.kernel_exit();
               }});
  const RunResult r = run(ex);
  EXPECT_EQ(log.events(), (std::vector<int>{30, 100, 10}));
  EXPECT_EQ(sl.stats().contentions, 1u);
  EXPECT_EQ(sl.stats().pi_boosts, 1u);
  EXPECT_EQ(sl.stats().acquisitions, 2u);
  EXPECT_EQ(r.vcpus[0].might_sleep_bugs, 0u);
}

// --- sleeping in atomic context at lock acquisition -------------------------------------------

struct BugCounts {
  uint64_t might_sleep = 0;
};

BugCounts bugs_of(Model m,
                  const std::function<void(TaskApi&, RawSpinlock&, Spinlock&, Mutex&)>& f) {
  RawSpinlock rl("rl");
  Spinlock sl("sl");
  Mutex mx("mx");
  Executive ex(quiet_config(m));
  ex.add_task({.name = "T", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 f(api, rl, sl, mx);
                 api.kernel_exit();
                 api.request_stop();
               }});
  const RunResult r = run(ex);
  return {r.vcpus.empty() ? 0 : r.vcpus[0].might_sleep_bugs};
}

TEST(ExecLockDebug, MutexUnderRawSpinlockIsReportedInEveryModel) {
  SKIP_WITHOUT_PI();
  for (Model m : pb::exec::kAllModels) {
    const auto b = bugs_of(m, [](TaskApi& api, RawSpinlock& rl, Spinlock&, Mutex& mx) {
      api.raw_spin_lock(rl);
      if (api.mutex_lock(mx)) api.mutex_unlock(mx);
      api.raw_spin_unlock(rl);
    });
    EXPECT_EQ(b.might_sleep, 1u) << pb::exec::to_string(m);
  }
}

TEST(ExecLockDebug, NestedSpinlocksAreFineOnRtButMutexInsideOneIsNot) {
  SKIP_WITHOUT_PI();
  Spinlock inner("inner");
  EXPECT_EQ(bugs_of(Model::kRt,
                    [&](TaskApi& api, RawSpinlock&, Spinlock& sl, Mutex&) {
                      api.spin_lock(sl);
                      api.spin_lock(inner);
                      api.spin_unlock(inner);
                      api.spin_unlock(sl);
                    })
                .might_sleep,
            0u);
  EXPECT_EQ(bugs_of(Model::kRt,
                    [](TaskApi& api, RawSpinlock&, Spinlock& sl, Mutex& mx) {
                      api.spin_lock(sl);
                      if (api.mutex_lock(mx)) api.mutex_unlock(mx);
                      api.spin_unlock(sl);
                    })
                .might_sleep,
            1u);
  // Off RT the same nesting is atomic: reported too.
  EXPECT_EQ(bugs_of(Model::kFull,
                    [](TaskApi& api, RawSpinlock&, Spinlock& sl, Mutex& mx) {
                      api.spin_lock(sl);
                      if (api.mutex_lock(mx)) api.mutex_unlock(mx);
                      api.spin_unlock(sl);
                    })
                .might_sleep,
            1u);
  // spinlock_t inside raw_spinlock_t: a bug on RT only (it sleeps there).
  EXPECT_EQ(bugs_of(Model::kRt,
                    [](TaskApi& api, RawSpinlock& rl, Spinlock& sl, Mutex&) {
                      api.raw_spin_lock(rl);
                      api.spin_lock(sl);
                      api.spin_unlock(sl);
                      api.raw_spin_unlock(rl);
                    })
                .might_sleep,
            1u);
  EXPECT_EQ(bugs_of(Model::kFull,
                    [](TaskApi& api, RawSpinlock& rl, Spinlock& sl, Mutex&) {
                      api.raw_spin_lock(rl);
                      api.spin_lock(sl);
                      api.spin_unlock(sl);
                      api.raw_spin_unlock(rl);
                    })
                .might_sleep,
            0u);
}

// --- per-CPU data ---------------------------------------------------------------------------

TEST(ExecPerCpu, GetCpuDisablesPreemptionAndNamesTheVcpu) {
  PB_SKIP_UNDER_EMULATOR();
  PerCpu<uint64_t> counter;
  std::array<uint32_t, 3> seen{};
  int cpu = -1;
  Executive ex(quiet_config(Model::kFull));
  ex.add_task({.name = "T", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 cpu = api.get_cpu();
                 seen[0] = api.preempt_count();
                 ++api.this_cpu(counter);
                 api.put_cpu();
                 seen[1] = api.preempt_count();
                 api.kernel_exit();
                 api.request_stop();
               }});
  run(ex);
  EXPECT_EQ(cpu, 0);
  EXPECT_EQ(seen[0], pb::exec::kPreemptDisableOffset);
  EXPECT_EQ(seen[1], 0u);
  EXPECT_EQ(counter.on(0), 1u);
}

// --- windows -------------------------------------------------------------------------------

TEST(ExecWindows, LongestPreemptOffAndIrqOffWindowsWithTheirSource) {
  PB_SKIP_UNDER_EMULATOR();
  int poff_line = 0;
  int ioff_line = 0;
  Config c = quiet_config(Model::kFull);
  c.track_windows = true;
  Executive ex(c);
  ex.add_task({.name = "T", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 api.preempt_disable();
                 poff_line = __LINE__ - 1;  // the call above is the window's source
                 api.compute(200'000);
                 api.preempt_enable();
                 api.preempt_disable();  // shorter: not the longest
                 api.preempt_enable();
                 const unsigned long f = api.local_irq_save();
                 ioff_line = __LINE__ - 1;
                 api.compute(300'000);
                 api.local_irq_restore(f);
                 api.kernel_exit();
                 api.request_stop();
               }});
  const RunResult r = run(ex);
  ASSERT_EQ(r.vcpus.size(), 1u);
  const auto& v = r.vcpus[0];
  // compute() counts only time on the CPU, so the windows are at least this
  // long; noise can only lengthen them.
  EXPECT_GE(v.preemptoff_max_ns, 200'000);
  EXPECT_GE(v.irqsoff_max_ns, 300'000);
  EXPECT_NE(v.preemptoff_where.find("exec_lock_test.cc:" + std::to_string(poff_line)),
            std::string::npos)
      << v.preemptoff_where;
  EXPECT_NE(v.irqsoff_where.find("exec_lock_test.cc:" + std::to_string(ioff_line)),
            std::string::npos)
      << v.irqsoff_where;
}

TEST(ExecWindows, OffWhenNotTracked) {
  PB_SKIP_UNDER_EMULATOR();
  Config c = quiet_config(Model::kFull);
  c.track_windows = false;
  Executive ex(c);
  ex.add_task({.name = "T", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.preempt_disable();
                 api.compute(100'000);
                 api.preempt_enable();
                 api.request_stop();
               }});
  const RunResult r = run(ex);
  EXPECT_EQ(r.vcpus[0].preemptoff_max_ns, 0);
  EXPECT_TRUE(r.vcpus[0].preemptoff_where.empty());
}

// --- lockdep-lite and the return-to-user checks ------------------------------------------------

pb::exec::VcpuStats debug_run(Model m, const std::function<void(TaskApi&)>& body) {
  Config c = quiet_config(m);
  c.lockdep = true;
  Executive ex(c);
  ex.add_task({.name = "T", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 body(api);
                 api.request_stop();
               }});
  const RunResult r = run(ex);
  return r.vcpus.empty() ? pb::exec::VcpuStats{} : r.vcpus[0];
}

TEST(ExecLockdep, AbBaOrderIsReportedOnceEvenWithoutADeadlock) {
  SKIP_WITHOUT_PI();
  RtMutex a("lock_a");
  RtMutex b("lock_b");
  const auto bad = debug_run(Model::kFull, [&](TaskApi& api) {
    api.kernel_enter();
    for (int i = 0; i < 3; ++i) {
      api.rt_mutex_lock(a);
      api.rt_mutex_lock(b);
      api.rt_mutex_unlock(b);
      api.rt_mutex_unlock(a);
      api.rt_mutex_lock(b);
      api.rt_mutex_lock(a);
      api.rt_mutex_unlock(a);
      api.rt_mutex_unlock(b);
    }
    api.kernel_exit();
  });
  EXPECT_EQ(bad.lockdep_cycles, 1u);
  const auto good = debug_run(Model::kFull, [&](TaskApi& api) {
    api.kernel_enter();
    for (int i = 0; i < 3; ++i) {
      api.rt_mutex_lock(a);
      api.rt_mutex_lock(b);
      api.rt_mutex_unlock(b);
      api.rt_mutex_unlock(a);
    }
    api.kernel_exit();
  });
  EXPECT_EQ(good.lockdep_cycles, 0u);
}

TEST(ExecLockdep, ThreeLockCycleAcrossSpinningLocks) {
  PB_SKIP_UNDER_EMULATOR();
  RawSpinlock a("ra");
  RawSpinlock b("rb");
  RawSpinlock c("rc");
  const auto s = debug_run(Model::kFull, [&](TaskApi& api) {
    api.kernel_enter();
    api.raw_spin_lock(a);
    api.raw_spin_lock(b);
    api.raw_spin_unlock(b);
    api.raw_spin_unlock(a);
    api.raw_spin_lock(b);
    api.raw_spin_lock(c);
    api.raw_spin_unlock(c);
    api.raw_spin_unlock(b);
    api.raw_spin_lock(c);
    api.raw_spin_lock(a);  // c -> a closes a -> b -> c
    api.raw_spin_unlock(a);
    api.raw_spin_unlock(c);
    api.kernel_exit();
  });
  EXPECT_EQ(s.lockdep_cycles, 1u);
}

TEST(ExecLockdep, ClassTakenWithIrqsOffAndOnIsInconsistent) {
  PB_SKIP_UNDER_EMULATOR();
  RawSpinlock l("mixed");
  RawSpinlock k("always_irqsave");
  const auto s = debug_run(Model::kFull, [&](TaskApi& api) {
    api.kernel_enter();
    api.raw_spin_lock(l);
    api.raw_spin_unlock(l);
    const unsigned long f = api.raw_spin_lock_irqsave(l);
    api.raw_spin_unlock_irqrestore(l, f);
    for (int i = 0; i < 2; ++i) {
      const unsigned long g = api.raw_spin_lock_irqsave(k);
      api.raw_spin_unlock_irqrestore(k, g);
    }
    api.kernel_exit();
  });
  EXPECT_EQ(s.lockdep_inconsistent, 1u);
}

TEST(ExecLockdep, SilentWhenOff) {
  SKIP_WITHOUT_PI();
  RtMutex a("off_a");
  RtMutex b("off_b");
  Config c = quiet_config(Model::kFull);
  c.lockdep = false;
  Executive ex(c);
  ex.add_task({.name = "T", .policy = Policy::kFifo, .priority = 10, .body = [&](TaskApi& api) {
                 api.kernel_enter();
                 api.rt_mutex_lock(a);
                 api.rt_mutex_lock(b);
                 api.rt_mutex_unlock(b);
                 api.rt_mutex_unlock(a);
                 api.rt_mutex_lock(b);
                 api.rt_mutex_lock(a);
                 api.rt_mutex_unlock(a);
                 api.rt_mutex_unlock(b);
                 api.kernel_exit();
                 api.request_stop();
               }});
  const RunResult r = run(ex);
  EXPECT_EQ(r.vcpus[0].lockdep_cycles, 0u);
}

TEST(ExecUserReturn, LeakedCountIsReportedAndReset) {
  PB_SKIP_UNDER_EMULATOR();
  uint32_t after = 99;
  const auto s = debug_run(Model::kFull, [&](TaskApi& api) {
    api.kernel_enter();
    api.preempt_disable();
    api.kernel_exit();
    after = api.preempt_count();
    api.kernel_enter();
    api.preempt_disable();
    api.preempt_enable();
    api.kernel_exit();
  });
  EXPECT_EQ(s.preempt_leaks, 1u);
  EXPECT_EQ(after, 0u);
}

TEST(ExecUserReturn, LockHeldAtReturnToUserIsReported) {
  SKIP_WITHOUT_PI();
  RtMutex m("held_across");
  const auto s = debug_run(Model::kFull, [&](TaskApi& api) {
    api.kernel_enter();
    api.rt_mutex_lock(m);
    api.kernel_exit();  // reported
    api.kernel_enter();
    api.rt_mutex_unlock(m);
    api.kernel_exit();  // quiet
  });
  EXPECT_EQ(s.lockdep_held_at_exit, 1u);
  EXPECT_EQ(s.preempt_leaks, 0u);
}

}  // namespace

// --- the host class mirrors the emulated class (DESIGN.md, "Host class") -------------------
//
// With host SCHED_FIFO, an emulated RT task's thread runs at host SCHED_FIFO
// at its priority and a fair task's at SCHED_OTHER nice -20; a fair owner
// boosted through an rt_mutex is at host SCHED_FIFO at the waiter's priority
// while it holds the lock, and back at SCHED_OTHER after the unlock. Each
// task reads its own thread's normal policy (sched_getscheduler() does not
// show the host's own PI boost, so this is the executive's doing).
struct HostClass {
  int policy = -1;
  int priority = -1;
  int nice = 99;
  bool operator==(const HostClass&) const = default;
};

std::ostream& operator<<(std::ostream& os, const HostClass& c) {
  return os << "{policy " << c.policy << ", priority " << c.priority << ", nice " << c.nice << "}";
}

HostClass own_host_class() {
  HostClass c;
  c.policy = pb::sys::get_scheduler(0, &c.priority);
  errno = 0;
  c.nice = getpriority(PRIO_PROCESS, 0);
  return c;
}

TEST(ExecHostClass, FollowsTheEmulatedClassAcrossAPiBoost) {
  SKIP_WITHOUT_PI();
  if (pb::sys::can_use_fifo(98) != 1) GTEST_SKIP() << "needs SCHED_FIFO (root or CAP_SYS_NICE)";
  for (Model m : {Model::kFull, Model::kRt}) {
    RtMutex lock("shared");
    std::array<HostClass, 5> seen{};
    Executive ex(quiet_config(m));
    constexpr pb::exec::TaskId kH = 1;
    ex.add_task({.name = "fair-L", .policy = Policy::kFair, .body = [&](TaskApi& api) {
                   seen[0] = own_host_class();
                   api.kernel_enter();
                   if (!api.rt_mutex_lock(lock)) return;
                   api.wake(kH);
                   api.cond_resched();  // H runs, blocks on the lock, boosts L
                   seen[1] = own_host_class();
                   api.rt_mutex_unlock(lock);
                   seen[2] = own_host_class();
                   api.cond_resched();
                   api.kernel_exit();
                   api.request_stop();
                 }});
    ex.add_task({.name = "H",
                 .policy = Policy::kFifo,
                 .priority = 30,
                 .start_blocked = true,
                 .body = [&](TaskApi& api) {
                   seen[3] = own_host_class();
                   api.kernel_enter();
                   if (!api.rt_mutex_lock(lock)) return;
                   seen[4] = own_host_class();
                   api.rt_mutex_unlock(lock);
                   api.kernel_exit();
                 }});
    const RunResult r = run(ex);
    ASSERT_TRUE(r.host_fifo) << pb::exec::to_string(m);
    const HostClass other{SCHED_OTHER, 0, -20};
    const HostClass fifo30{SCHED_FIFO, 30, 0};
    EXPECT_EQ(seen[0], other) << pb::exec::to_string(m) << ": fair task before the lock";
    EXPECT_EQ(seen[1].policy, SCHED_FIFO) << pb::exec::to_string(m) << ": boosted owner";
    EXPECT_EQ(seen[1].priority, 30) << pb::exec::to_string(m) << ": boosted owner";
    EXPECT_EQ(seen[2], other) << pb::exec::to_string(m) << ": owner after the unlock";
    EXPECT_EQ(seen[3].policy, fifo30.policy) << pb::exec::to_string(m) << ": RT task";
    EXPECT_EQ(seen[3].priority, fifo30.priority) << pb::exec::to_string(m) << ": RT task";
    EXPECT_EQ(seen[4].policy, SCHED_FIFO) << pb::exec::to_string(m) << ": RT task with the lock";
    EXPECT_GE(r.vcpus[0].pi_boosts, 1u);
    EXPECT_GE(r.host_class_changes, 2u);  // raised for the boost, lowered at the unlock
    EXPECT_FALSE(r.watchdog_tripped) << r.watchdog_message;
  }
}

// The RT-class busy time counts the time an RT task was current and not a
// fair task's: a fair task computing 20 ms adds nothing, an RT task
// computing 20 ms adds at least that.
TEST(ExecHostClass, RtBusyTimeCountsOnlyRtClassTasks) {
  PB_SKIP_UNDER_EMULATOR();
  auto busy = [](Policy p) {
    Executive ex(quiet_config(Model::kFull));
    ex.add_task({.name = "t",
                 .policy = p,
                 .priority = p == Policy::kFair ? 0 : 10,
                 .body = [&](TaskApi& api) {
                   api.compute(20'000'000);
                   api.request_stop();
                 }});
    const RunResult r = run(ex);
    return r.vcpus.empty() ? int64_t{-1} : r.vcpus[0].rt_busy_ns;
  };
  EXPECT_EQ(busy(Policy::kFair), 0);
  EXPECT_GE(busy(Policy::kFifo), 20'000'000);
}
