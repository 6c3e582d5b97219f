// Shared by scenarios.cc (definitions, analysis, simulated runs) and
// scenario_real.cc (the same scenarios on the executive, in real time).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pb/executive/policy.h"
#include "pb/scenarios/scenario.h"
#include "pb/sim/engine.h"

namespace pb::scenarios {

// The simulator's vocabulary, which the scenarios' definitions speak
// (internal to the scenarios).
using sim::BugReport;
using sim::DeviceSpec;
using sim::kNsPerUs;
using sim::LockSpec;
using sim::SimOptions;
using sim::SimResult;
using sim::SimTask;
using sim::Step;
using sim::StepOp;
using sim::System;
using sim::TaskResult;
using sim::VarSpec;
namespace ops = sim::ops;

}  // namespace pb::scenarios

namespace pb::scenarios::detail {

// A scenario's parameter values (validated), by name.
struct Params {
  nlohmann::ordered_json j;
  int64_t i(const char* k) const { return j.at(k).get<int64_t>(); }
  int64_t ns(const char* k) const { return i(k) * kNsPerUs; }
  bool b(const char* k) const { return j.at(k).get<bool>(); }
  std::string s(const char* k) const { return j.at(k).get<std::string>(); }
};

// A duration in ns as the outcome's microseconds: an integer when whole,
// else a number with ns precision.
nlohmann::ordered_json us_value(int64_t ns);

// The distinct report titles of a run, in the order they first fired.
nlohmann::ordered_json report_titles(const std::vector<BugReport>& reports);

// BugReport titles shared by the analysis, the engine and the real runs.
inline constexpr const char* kBugSleeping = "BUG: sleeping function called from invalid context";
inline constexpr const char* kBugAtomic = "BUG: scheduling while atomic";
inline constexpr const char* kBugAtomicity = "BUG: spinlock atomicity broken";
// rcu_note_context_switch()'s WARN_ONCE (kernel/rcu/tree_plugin.h).
inline constexpr const char* kWarnRcuSwitch =
    "Voluntary context switch within RCU read-side critical section!";

// What a real-time run reports beside its outcome: notes, and each device's
// interrupts (exec::IrqStats).
struct RealOut {
  std::vector<std::string> notes;
  std::vector<ScenarioDevice> devices;
};

// Real-time runs on the executive (scenario_real.cc). Each returns the
// measured outcome with the scenario's keys; throws ScenarioRunError when the
// executive cannot run and ScenarioError when the parameters have no
// real-time form.
nlohmann::ordered_json real_pathfinder(const Params& p, exec::Model m, RealOut* out);
nlohmann::ordered_json real_audio_isr(const Params& p, exec::Model m, RealOut* out);
nlohmann::ordered_json real_percpu_irq(const Params& p, exec::Model m, RealOut* out);
nlohmann::ordered_json real_braking(const Params& p, exec::Model m, RealOut* out);
nlohmann::ordered_json real_nested_locks(const Params& p, exec::Model m, RealOut* out);
nlohmann::ordered_json real_reentrancy(const Params& p, exec::Model m, RealOut* out);
nlohmann::ordered_json real_sleep_in_atomic(const Params& p, exec::Model m, RealOut* out);

}  // namespace pb::scenarios::detail
