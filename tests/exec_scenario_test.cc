// Scenarios in real time on the executive (one vCPU), only where the outcome
// does not depend on timing margins the VM cannot promise: debug reports
// (counts), a protected read-modify-write (0 lost updates whatever the
// timing), and priority inversion with a 50 ms middle task, asserted as
// bounds that noise can only widen in the tested direction.
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "emulator_guard.h"
#include "pb/scenarios/scenario.h"
#include "pb/sys.h"

namespace {

using nlohmann::ordered_json;
using pb::exec::Model;
using pb::scenarios::Clock;

bool pi_futexes_work(std::string* why) {
  std::atomic<uint32_t> w{0};
  int r = pb::sys::futex_lock_pi(&w);
  if (r == 0) r = pb::sys::futex_unlock_pi(&w);
  if (r != 0) *why = std::string("PI futexes unavailable: ") + std::strerror(-r);
  return r == 0;
}

// Under a system emulator (emulator_guard.h) the real scenarios skip: they
// give the executive's setup a fixed 300 ms lead (sim/src/scenario_real.cc)
// and place their events microseconds apart on the host clock, which
// translated code overruns.
#define SKIP_WITHOUT_RT()                                                                          \
  do {                                                                                             \
    PB_SKIP_UNDER_EMULATOR();                                                                      \
    PB_SKIP_UNDER_SYSTEM_EMULATOR(                                                                 \
        "real scenarios: a 300 ms setup lead and events microseconds "                             \
        "apart on the host clock, which translated code overruns");                                \
    if (pb::sys::can_use_fifo(90) != 1) GTEST_SKIP() << "needs SCHED_FIFO (root or CAP_SYS_NICE)"; \
    std::string why_;                                                                              \
    if (!pi_futexes_work(&why_)) GTEST_SKIP() << why_;                                             \
  } while (0)

pb::scenarios::ScenarioResult real(const char* name, Model m, std::vector<std::string> sets = {}) {
  return pb::scenarios::run_scenario(name, m, Clock::kReal, sets);
}

TEST(ExecScenario, SleepInAtomicReportsPerModel) {
  SKIP_WITHOUT_RT();
  // msleep() has no might_sleep(): schedule()'s reports (scenario_test.cc).
  const char* atomic = "BUG: scheduling while atomic";
  const char* rcu = "Voluntary context switch within RCU read-side critical section!";
  auto full = real("sleep-in-atomic", Model::kFull);
  EXPECT_EQ(full.measured["reports"], ordered_json({atomic}));
  EXPECT_TRUE(full.pass);
  EXPECT_EQ(full.clock, "real");
  auto rt = real("sleep-in-atomic", Model::kRt);
  EXPECT_EQ(rt.measured["reports"], ordered_json({rcu}));
  EXPECT_TRUE(rt.pass);
  // RT's BH-off section is an RCU read-side section (__local_bh_disable_ip()).
  auto bh = real("sleep-in-atomic", Model::kRt, {"lock_type=bh"});
  EXPECT_EQ(bh.measured["reports"], ordered_json({rcu}));
  EXPECT_TRUE(bh.pass);
  auto mutex = real("sleep-in-atomic", Model::kFull, {"lock_type=mutex"});
  EXPECT_EQ(mutex.measured["reports"], ordered_json::array());
  EXPECT_TRUE(mutex.pass);
}

TEST(ExecScenario, ProtectedHelperLosesNothing) {
  SKIP_WITHOUT_RT();
  for (const char* p : {"protect=preempt_disable", "protect=percpu"}) {
    auto r = real("reentrancy", Model::kFull, {p, "periods=10"});
    EXPECT_EQ(r.measured["lost_updates"], 0) << p;
  }
}

TEST(ExecScenario, NestedLocksCorrectRuleReportsNothing) {
  SKIP_WITHOUT_RT();
  auto r = real("nested-locks", Model::kFull);
  EXPECT_EQ(r.measured["reports"], ordered_json::array());
  // Deferred until spin_unlock(A): never before the section's end (noise only
  // lengthens it).
  EXPECT_GE(r.measured["resched_delay_us"].get<int64_t>(), 450 - 5);
  EXPECT_THROW(real("nested-locks", Model::kFull, {"wrong_rule=true"}),
               pb::scenarios::ScenarioError);
}

// Without PI, T_H's wait contains T_M's whole 50 ms; with PI it ends with
// T_L's section, far below it.
TEST(ExecScenario, PathfinderInversionAndInheritance) {
  SKIP_WITHOUT_RT();
  auto mutex = real("pathfinder", Model::kFull, {"mid_us=50000"});
  EXPECT_GE(mutex.measured["high_blocking_us"].get<int64_t>(), 50'000 + 900 - 50);
  auto pi = real("pathfinder", Model::kFull, {"mid_us=50000", "lock=rt_mutex"});
  EXPECT_LT(pi.measured["high_blocking_us"].get<int64_t>(), 25'000);
  auto rt = real("pathfinder", Model::kRt, {"mid_us=50000"});
  EXPECT_LT(rt.measured["high_blocking_us"].get<int64_t>(), 25'000);
}

// percpu-irq: with local_irq_save() no update is ever lost, whatever the
// timing; with get_cpu() the hardirq lands inside the 200 us window in every
// period (noise can move an interrupt out of a few, never into more); under
// RT a forced-threaded handler waits for put_cpu(), so nothing is lost.
TEST(ExecScenario, PercpuIrqGetCpuLosesIrqSaveDoesNot) {
  SKIP_WITHOUT_RT();
  auto lost = [](Model m, std::vector<std::string> sets) {
    auto r = real("percpu-irq", m, std::move(sets));
    return r.measured["lost_updates"].get<int64_t>();
  };
  EXPECT_EQ(lost(Model::kFull, {"protect=irq_save"}), 0);
  EXPECT_GE(lost(Model::kFull, {"protect=get_cpu"}), 10);
  EXPECT_LE(lost(Model::kFull, {"protect=get_cpu"}), 20);
  EXPECT_EQ(lost(Model::kRt, {"protect=get_cpu", "threading=forced"}), 0);
}

// audio-isr off RT is an overload (1225 us for the first job with no
// overhead at all): every job misses, and noise only adds to it. The
// overload's worst response is not part of `pass` in real time.
TEST(ExecScenario, AudioIsrOffRtMissesEveryDeadline) {
  SKIP_WITHOUT_RT();
  auto r = real("audio-isr", Model::kFull, {"periods=10"});
  EXPECT_EQ(r.measured["deadline_misses"], 10);
  EXPECT_EQ(r.measured["responses_us"].size(), 10u);
  EXPECT_GE(r.measured["worst_response_us"].get<int64_t>(), 1225);
  EXPECT_EQ(r.uncompared, std::vector<std::string>{"worst_response_us"});
  EXPECT_TRUE(r.pass);
}

}  // namespace
