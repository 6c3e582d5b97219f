// The scenarios in simulated time (sim/include/pb/sim/scenario.h): exact
// expected values at the defaults and under changed parameters, simulated
// equal to analytic, reproducible runs, bad input, the response-time
// analysis itself, and the `preemptbench scenario` command's exit codes and
// JSON.
#include "pb/scenarios/scenario.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pb/scenarios/rta.h"
#include "tool_runner.h"

namespace {

using nlohmann::ordered_json;
using pb::exec::Model;
using pb::scenarios::Clock;
using pb::scenarios::ScenarioError;
using pb::scenarios::ScenarioResult;

ScenarioResult sim(const char* name, std::optional<Model> m, std::vector<std::string> sets = {}) {
  return pb::scenarios::run_scenario(name, m, Clock::kSimulated, sets);
}

// Expected == measured == `want` (the keys given), and pass.
void expect_outcome(const ScenarioResult& r, const ordered_json& want) {
  EXPECT_TRUE(r.pass) << r.expected.dump() << " vs " << r.measured.dump();
  for (auto it = want.begin(); it != want.end(); ++it) {
    EXPECT_EQ(r.expected.at(it.key()), it.value()) << r.scenario << " expected " << it.key();
    EXPECT_EQ(r.measured.at(it.key()), it.value()) << r.scenario << " measured " << it.key();
  }
}

constexpr const char* kSleeping = "BUG: sleeping function called from invalid context";
constexpr const char* kAtomic = "BUG: scheduling while atomic";
constexpr const char* kAtomicity = "BUG: spinlock atomicity broken";

TEST(SimScenario, PathfinderMutexVersusRtMutex) {
  expect_outcome(sim("pathfinder", Model::kFull), {{"high_blocking_us", 5900}});
  expect_outcome(sim("pathfinder", Model::kFull, {"lock=rt_mutex"}), {{"high_blocking_us", 900}});
  expect_outcome(sim("pathfinder", Model::kLazy), {{"high_blocking_us", 5900}});
  expect_outcome(sim("pathfinder", Model::kRt),
                 {{"high_blocking_us", 900}});  // mutex is an rt_mutex
  expect_outcome(sim("pathfinder", Model::kNone),
                 {{"high_blocking_us", 900}});  // no kernel preemption
  // Changed parameters: the inversion grows with T_M's work.
  expect_outcome(sim("pathfinder", Model::kFull, {"mid_us=8000"}), {{"high_blocking_us", 8900}});
  expect_outcome(sim("pathfinder", Model::kFull, {"mid_at_us=1000"}),
                 {{"high_blocking_us", 900}});  // after the unlock
  expect_outcome(
      sim("pathfinder", Model::kFull, {"hold_us=3000", "high_at_us=500", "mid_at_us=600"}),
      {{"high_blocking_us", 7500}});
}

TEST(SimScenario, AudioIsrOverloadOffRtMetOnRt) {
  const ScenarioResult full = sim("audio-isr", Model::kFull);
  expect_outcome(full, {{"worst_response_us", 5185}, {"deadline_misses", 20}});
  const ordered_json first = {1225, 1450, 1675, 1900, 2125, 2245};
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(full.measured["responses_us"][i], first[i]);
  // Every non-RT model is the same: the handler is a hardirq.
  for (Model m : {Model::kNone, Model::kVoluntary, Model::kLazy}) {
    expect_outcome(sim("audio-isr", m), {{"worst_response_us", 5185}, {"deadline_misses", 20}});
  }
  // RT: the thread waits behind the job with its ONESHOT line masked
  // (handle_fasteoi_irq() to irq_finalize_oneshot()): only the job's first
  // firing costs a prologue, the later ones are latched: 700 + 5.
  expect_outcome(sim("audio-isr", Model::kRt),
                 {{"worst_response_us", 705}, {"deadline_misses", 0}});
  // Changed parameters.
  expect_outcome(sim("audio-isr", Model::kFull, {"handler_us=50"}),
                 {{"worst_response_us", 920}, {"deadline_misses", 0}});
  expect_outcome(sim("audio-isr", Model::kRt, {"prologue_us=10"}),
                 {{"worst_response_us", 710}, {"deadline_misses", 0}});
  expect_outcome(sim("audio-isr", Model::kRt, {"thread_prio=90"}),  // the thread above the task
                 {{"worst_response_us", 5185}, {"deadline_misses", 20}});
  expect_outcome(
      sim("audio-isr", Model::kFull, {"periods=3"}),
      {{"worst_response_us", 1675}, {"deadline_misses", 3}, {"responses_us", {1225, 1450, 1675}}});
}

TEST(SimScenario, BrakingVoluntaryMissesFullMeets) {
  expect_outcome(sim("braking", std::nullopt),
                 {{"worst_response_us", 5500}, {"deadline_misses", 10}});
  expect_outcome(sim("braking", Model::kNone),
                 {{"worst_response_us", 5500}, {"deadline_misses", 10}});
  for (Model m : {Model::kFull, Model::kLazy, Model::kRt}) {
    expect_outcome(sim("braking", m), {{"worst_response_us", 2050}, {"deadline_misses", 0}});
  }
  expect_outcome(sim("braking", Model::kVoluntary, {"compute_us=1400"}),
                 {{"worst_response_us", 4900}, {"deadline_misses", 0}});
  expect_outcome(sim("braking", Model::kFull, {"npr_us=700", "periods=4"}),
                 {{"worst_response_us", 2700}, {"deadline_misses", 0}});
}

TEST(SimScenario, NestedLocksDeferUntilZeroWrongRuleBreaksAtomicity) {
  expect_outcome(sim("nested-locks", Model::kFull),
                 {{"reports", ordered_json::array()}, {"resched_delay_us", 450}});
  expect_outcome(sim("nested-locks", Model::kFull, {"wrong_rule=true"}),
                 {{"reports", {kAtomic, kAtomicity}}, {"resched_delay_us", 150}});
  // A request at count 1: the wrong rule switches at the request's own irq exit.
  expect_outcome(sim("nested-locks", Model::kFull, {"wrong_rule=true", "request_at_us=50"}),
                 {{"reports", {kAtomic, kAtomicity}}, {"resched_delay_us", 0}});
  expect_outcome(sim("nested-locks", Model::kFull, {"request_at_us=400"}),
                 {{"reports", ordered_json::array()}, {"resched_delay_us", 200}});
  expect_outcome(sim("nested-locks", Model::kNone, {"wrong_rule=true"}),
                 {{"reports", ordered_json::array()}, {"resched_delay_us", 450}});
  // RT: spinlock_t does not raise the count; raw_spinlock_t does.
  expect_outcome(sim("nested-locks", Model::kRt),
                 {{"reports", ordered_json::array()}, {"resched_delay_us", 0}});
  expect_outcome(sim("nested-locks", Model::kRt, {"lock_type=raw_spinlock"}),
                 {{"reports", ordered_json::array()}, {"resched_delay_us", 450}});
}

TEST(SimScenario, ReentrancyLosesUpdatesOnlyUnprotectedAndPreemptible) {
  expect_outcome(sim("reentrancy", Model::kFull), {{"lost_updates", 20}});
  expect_outcome(sim("reentrancy", Model::kRt), {{"lost_updates", 20}});
  expect_outcome(sim("reentrancy", Model::kFull, {"protect=preempt_disable"}),
                 {{"lost_updates", 0}});
  expect_outcome(sim("reentrancy", Model::kFull, {"protect=percpu"}), {{"lost_updates", 0}});
  expect_outcome(sim("reentrancy", Model::kVoluntary), {{"lost_updates", 0}});
  expect_outcome(sim("reentrancy", Model::kFull, {"periods=7"}), {{"lost_updates", 7}});
  expect_outcome(sim("reentrancy", Model::kFull, {"high_at_us=200"}),
                 {{"lost_updates", 0}});  // after the store
}

TEST(SimScenario, PercpuIrqGetCpuDoesNotKeepTheHandlerOut) {
  expect_outcome(sim("percpu-irq", Model::kFull), {{"lost_updates", 20}});
  expect_outcome(sim("percpu-irq", Model::kNone), {{"lost_updates", 20}});
  expect_outcome(sim("percpu-irq", Model::kRt), {{"lost_updates", 20}});  // IRQF_NO_THREAD
  expect_outcome(sim("percpu-irq", Model::kFull, {"protect=irq_save"}), {{"lost_updates", 0}});
  expect_outcome(sim("percpu-irq", Model::kRt, {"threading=forced"}), {{"lost_updates", 0}});
  expect_outcome(sim("percpu-irq", Model::kFull, {"threading=forced", "periods=5"}),
                 {{"lost_updates", 5}});
}

// msleep() -> schedule_timeout() has no might_sleep(): the reports are
// schedule()'s own. schedule_debug() (kernel/sched/core.c) with the count
// raised: "scheduling while atomic"; rcu_note_context_switch()
// (kernel/rcu/tree_plugin.h) inside an RCU read-side section, which on RT a
// held spinlock_t (rt_spin_lock()) and a BH-off section
// (__local_bh_disable_ip()) are: the voluntary-switch warning.
TEST(SimScenario, SleepInAtomicReports) {
  constexpr const char* kRcu = "Voluntary context switch within RCU read-side critical section!";
  expect_outcome(sim("sleep-in-atomic", Model::kFull), {{"reports", {kAtomic}}});
  expect_outcome(sim("sleep-in-atomic", Model::kNone), {{"reports", {kAtomic}}});
  expect_outcome(sim("sleep-in-atomic", Model::kRt), {{"reports", {kRcu}}});
  expect_outcome(sim("sleep-in-atomic", Model::kRt, {"lock_type=raw_spinlock"}),
                 {{"reports", {kAtomic}}});
  expect_outcome(sim("sleep-in-atomic", Model::kFull, {"lock_type=mutex"}),
                 {{"reports", ordered_json::array()}});
  expect_outcome(sim("sleep-in-atomic", Model::kFull, {"lock_type=bh"}), {{"reports", {kAtomic}}});
  expect_outcome(sim("sleep-in-atomic", Model::kRt, {"lock_type=bh"}), {{"reports", {kRcu}}});
}

// Every scenario, every model, at the defaults: simulated equals analytic,
// and a second run (another seed too) is identical.
TEST(SimScenario, EveryScenarioEveryModelMatchesAndIsReproducible) {
  for (const auto& info : pb::scenarios::scenario_list()) {
    for (Model m : pb::exec::kAllModels) {
      const ScenarioResult a = sim(info.name.c_str(), m);
      EXPECT_TRUE(a.pass) << info.name << " " << a.model << ": " << a.expected.dump() << " vs "
                          << a.measured.dump();
      const ScenarioResult b =
          pb::scenarios::run_scenario(info.name, m, Clock::kSimulated, {}, {.seed = 99});
      EXPECT_EQ(pb::scenarios::to_json(a).dump(), pb::scenarios::to_json(b).dump()) << info.name;
      std::vector<std::string> ek, mk;
      for (auto it = a.expected.begin(); it != a.expected.end(); ++it) ek.push_back(it.key());
      for (auto it = a.measured.begin(); it != a.measured.end(); ++it) mk.push_back(it.key());
      EXPECT_EQ(ek, mk) << info.name;
      EXPECT_EQ(ek, info.keys) << info.name;
    }
  }
}

TEST(SimScenario, JsonShape) {
  const ordered_json j = pb::scenarios::to_json(sim("braking", Model::kFull));
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"format", "scenario", "model", "clock", "params",
                                            "expected", "measured", "pass", "analysis", "notes"}));
  EXPECT_EQ(j["format"], "preemptbench.scenario/1");
  EXPECT_EQ(j["model"], "full");
  EXPECT_EQ(j["clock"], "simulated");
  EXPECT_EQ(j["params"]["section_us"], 3500);
  EXPECT_EQ(j["pass"], true);
}

TEST(SimScenario, BadInput) {
  EXPECT_THROW(sim("no-such", std::nullopt), ScenarioError);
  EXPECT_THROW(sim("braking", std::nullopt, {"nope=1"}), ScenarioError);
  EXPECT_THROW(sim("braking", std::nullopt, {"period_us"}), ScenarioError);
  EXPECT_THROW(sim("braking", std::nullopt, {"period_us=abc"}), ScenarioError);
  EXPECT_THROW(sim("braking", std::nullopt, {"period_us=4000"}),
               ScenarioError);  // section + compute >= period
  EXPECT_THROW(sim("pathfinder", std::nullopt, {"lock=spinlock"}), ScenarioError);
  EXPECT_THROW(sim("pathfinder", std::nullopt, {"high_prio=40"}), ScenarioError);
  EXPECT_THROW(sim("nested-locks", std::nullopt, {"wrong_rule=yes"}), ScenarioError);
  EXPECT_THROW(sim("audio-isr", Model::kRt, {"thread_prio=80"}), ScenarioError);
  try {
    sim("braking", std::nullopt, {"nope=1"});
  } catch (const ScenarioError& e) {
    EXPECT_NE(std::string(e.what()).find("section_us"), std::string::npos)
        << "lists the parameters: " << e.what();
  }
  // A parameter with no real-time form is bad input, before anything runs.
  EXPECT_THROW(
      pb::scenarios::run_scenario("nested-locks", Model::kFull, Clock::kReal, {"wrong_rule=true"}),
      ScenarioError);
}

TEST(SimScenario, OutcomesMatch) {
  using pb::scenarios::outcomes_match;
  const ordered_json e = {
      {"worst_response_us", 2050}, {"deadline_misses", 0}, {"responses_us", {1, 2}}};
  EXPECT_TRUE(outcomes_match(e, e, Clock::kSimulated));
  ordered_json m = e;
  m["worst_response_us"] = 2051;
  EXPECT_FALSE(outcomes_match(e, m, Clock::kSimulated));
  EXPECT_TRUE(outcomes_match(e, m, Clock::kReal));  // within max(500 us, 20 %)
  m["worst_response_us"] = 2600;
  EXPECT_FALSE(outcomes_match(e, m, Clock::kReal));
  m = e;
  m["deadline_misses"] = 1;  // counts are exact in real time too
  EXPECT_FALSE(outcomes_match(e, m, Clock::kReal));
  m = e;
  m["responses_us"] = ordered_json::array({9});  // per-job lists are not compared in real time
  EXPECT_TRUE(outcomes_match(e, m, Clock::kReal));
  EXPECT_FALSE(outcomes_match(e, ordered_json::object(), Clock::kReal));
}

TEST(Rta, ResponseTimeFixedPoint) {
  using pb::scenarios::rta::Source;
  // 700 us against a 5 us prologue every 250 us: 700 + 3 x 5.
  EXPECT_EQ(pb::scenarios::rta::response_time(700'000, 0, {{0, 250'000, 5'000}}, 10'000'000),
            715'000);
  // Utilization above 1 at this level: no fixed point below the limit.
  EXPECT_FALSE(pb::scenarios::rta::response_time(700'000, 0, {{0, 250'000, 105'000}}, 1'000'000)
                   .has_value());
  // Blocking adds once: R = B + C when nothing preempts.
  EXPECT_EQ(pb::scenarios::rta::response_time(2'000'000, 3'500'000, {}, 10'000'000), 5'500'000);
  EXPECT_EQ(pb::scenarios::rta::arrivals(Source{100, 250, 5}, 0, 1000), 4 * 5);
  EXPECT_EQ(pb::scenarios::rta::arrivals(Source{100, 250, 5}, 100, 350), 5);
  EXPECT_EQ(pb::scenarios::rta::backlog({{0, 250, 105}}, 50), 55);
  EXPECT_EQ(pb::scenarios::rta::backlog({{0, 250, 105}}, 200), 0);
}

TEST(Rta, JobResponsesUnderOverload) {
  const std::vector<int64_t> r =
      pb::scenarios::rta::job_responses(0, 1'000, 700, 0, {{0, 250, 105}}, 5, 1'000'000);
  EXPECT_EQ(r, (std::vector<int64_t>{1225, 1450, 1675, 1900, 2125}));
  // Met: each job alone in its period.
  EXPECT_EQ(pb::scenarios::rta::job_responses(0, 1'000, 700, 0, {{0, 250, 5}}, 3, 1'000'000),
            (std::vector<int64_t>{715, 715, 715}));
}

class ScenarioCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::getenv("PB_EMULATOR") != nullptr && *std::getenv("PB_EMULATOR") != '\0') {
      GTEST_SKIP() << "CLI end-to-end runs natively only";
    }
  }
};

TEST_F(ScenarioCli, PassFailAndBadInputExitCodes) {
  const std::string json = pb::testing::temp_path("scenario.json");
  auto r = pb::testing::run_tool("preemptbench",
                                 {"scenario", "braking", "--model", "full", "--json", json});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("worst_response_us"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PASS"), std::string::npos);
  const ordered_json j = ordered_json::parse(pb::testing::slurp(json));
  EXPECT_EQ(j["scenario"], "braking");
  EXPECT_EQ(j["measured"]["worst_response_us"], 2050);
  EXPECT_EQ(j["pass"], true);

  r = pb::testing::run_tool("preemptbench",
                            {"scenario", "pathfinder", "--set", "lock=rt_mutex", "--json", "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ordered_json::parse(r.out)["expected"]["high_blocking_us"], 900);

  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"scenario"},
        {"scenario", "nope"},
        {"scenario", "braking", "--model", "fast"},
        {"scenario", "braking", "--clock", "wall"},
        {"scenario", "braking", "--set", "x=1"},
        {"scenario", "nested-locks", "--clock", "real", "--set", "wrong_rule=true"},
        {"scenario", "braking", "--frobnicate"}}) {
    r = pb::testing::run_tool("preemptbench", bad);
    EXPECT_EQ(r.exit_code, 2) << bad.back() << ": " << r.out << r.err;
    EXPECT_FALSE(r.err.empty());
  }
  r = pb::testing::run_tool("preemptbench", {"scenario", "--list"});
  EXPECT_EQ(r.exit_code, 0);
  for (const auto& info : pb::scenarios::scenario_list())
    EXPECT_NE(r.out.find(info.name), std::string::npos);
}

}  // namespace
