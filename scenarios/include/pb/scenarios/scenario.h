// Scenarios: small, classic situations (priority inversion, an audio task
// against a device interrupt, a deadline against a non-preemptible kernel
// section, nested locks, reentrancy, per-CPU data against the local
// interrupt, sleeping in atomic context), each a set of parameters, a way to
// run it (simulated on the engine, or in real time on the executive) and the
// analytic expectation computed from the same parameters (response-time
// analysis, or the kernel's rule). A run reports expected and measured
// outcomes under the same keys and whether they match.
//
// Simulated runs use zero context-switch, interrupt-entry and IPI costs
// (unless a scenario's parameter says otherwise, e.g. audio-isr's
// prologue_us), so the analysis is exact: simulated and expected values are
// equal, to the nanosecond, for every parameter set the scenario accepts.
// Real runs are held to the same expectation within a tolerance
// (outcomes_match()).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pb/executive/policy.h"

namespace pb::scenarios {

// Bad input: an unknown scenario, parameter or value, a parameter set the
// scenario cannot analyse, a clock the scenario does not support. The CLI
// maps it to exit code 2.
class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The run could not happen (the executive did not start, ...). Exit code 1.
class ScenarioRunError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Clock : uint8_t { kSimulated, kReal };
std::string_view to_string(Clock c) noexcept;
std::optional<Clock> parse_clock(std::string_view s) noexcept;

// The format tag of a scenario's JSON.
inline constexpr const char* kScenarioFormat = "preemptbench.scenario/1";

struct ScenarioParam {
  std::string name;
  nlohmann::ordered_json value;      // the default: an integer, a boolean or a string
  std::vector<std::string> choices;  // strings: the accepted values
  std::string help;
};

struct ScenarioInfo {
  std::string name;
  std::string summary;
  exec::Model default_model = exec::Model::kFull;
  std::vector<ScenarioParam> params;
  std::vector<std::string> keys;  // the outcome's keys
};

// Every scenario, in a stable order.
const std::vector<ScenarioInfo>& scenario_list();
// nullptr when there is none.
const ScenarioInfo* find_scenario(std::string_view name);

struct ScenarioOptions {
  uint64_t seed = 1;  // simulated runs (the scenarios draw no random numbers today)
};

// One device's interrupts over the run (irq_line.h's counts, both clocks):
// a threaded handler that cannot keep up shows as coalesced firings and a
// growing firing-to-handled time.
struct ScenarioDevice {
  std::string name;
  bool threaded = false;
  uint64_t fired = 0;
  uint64_t delivered = 0;
  uint64_t coalesced = 0;
  uint64_t handled = 0;
  int64_t worst_fire_to_handled_ns = 0;
};

struct ScenarioResult {
  std::string scenario;
  std::string model;                // "none", "voluntary", "full", "lazy", "rt"
  std::string clock;                // "simulated" or "real"
  nlohmann::ordered_json params;    // every parameter with the value used
  nlohmann::ordered_json expected;  // the analysis
  nlohmann::ordered_json measured;  // the run, same keys
  bool pass = false;                // measured matches expected (outcomes_match())
  // Real runs: keys outside `pass` (a note says why), e.g. audio-isr's worst
  // response in overload, which grows with the host's cost per interrupt.
  std::vector<std::string> uncompared;
  std::vector<std::string> analysis;  // how the expectation follows from the parameters
  std::vector<std::string> notes;
  std::vector<ScenarioDevice> devices;  // the run's devices (none: the scenario has none)
};

// Runs scenario `name` under `model` (nullopt: its default model) with the
// "key=value" `sets` applied to its defaults. Throws ScenarioError for bad
// input and ScenarioRunError when a real run cannot happen.
ScenarioResult run_scenario(std::string_view name, std::optional<exec::Model> model, Clock clock,
                            const std::vector<std::string>& sets, const ScenarioOptions& opt = {});

// The expectation alone (no run): what run_scenario() compares against.
ScenarioResult expect_scenario(std::string_view name, std::optional<exec::Model> model,
                               const std::vector<std::string>& sets);

// Equality key by key for simulated runs. For real runs: counts and report
// lists exactly, times (keys ending in "_us") within max(500 us, 20 %),
// per-job lists ("responses_us") and the `uncompared` keys are not compared.
bool outcomes_match(const nlohmann::ordered_json& expected, const nlohmann::ordered_json& measured,
                    Clock clock, const std::vector<std::string>& uncompared = {});

// {"format", "scenario", "model", "clock", "params", "expected", "measured",
// "pass", "analysis", "notes"}, and "devices" when the scenario has any.
nlohmann::ordered_json to_json(const ScenarioResult& r);
// The table the CLI prints: expected beside measured per key, the devices'
// interrupts, the analysis, the verdict.
std::string to_text(const ScenarioResult& r);

}  // namespace pb::scenarios
