// `preemptbench validate`: does the emulation do what the models predict?
//
// For each non-preemptible section length (100 µs to 5 ms by default) and
// each model, the kernel-path workload (fair background tasks computing
// section_us in emulated kernel mode with no preemption point, beside a
// SCHED_FIFO 90 periodic measuring task) runs in simulated time and, unless
// the clock is "simulated", on the real executive. The figure compared is
// the measuring task's model-induced delay (its wakeup's reschedule request -> the switch
// that dispatched it). Two checks per row:
//
//  1. simulated vs analysis: the simulated worst delay lies within the
//     tolerance of the analytic worst case (the section, or the cond_resched
//     interval when smaller, under NONE and VOLUNTARY; zero under FULL, LAZY
//     and RT, where the timer interrupt's exit preempts).
//  2. measured vs simulated (real clock only): the measured delay at the
//     chosen statistic (p99 by default: the maximum of a run on a VM holds
//     the host's spikes) lies within the tolerance of the simulated one.
//
// Tolerance: |value - expected| <= max(relative x expected, floor). The
// relative part (10 % by default) is the fidelity the emulation aims at
// for sections >= 1 ms; the floor (50 µs by default) absorbs what a fixed cost per
// switch and the host's wakeup jitter add to short sections and to the
// preemptible models, whose expected delay is a few µs.
//
// This file is the pure part (plan, checks, rendering, JSON); the command
// (validate_cmd.cc) runs the cells.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pb/executive/policy.h"
#include "pb/workloads/result.h"

namespace pb::scenarios {

struct Tolerance {
  double relative = 0.10;
  int64_t floor_ns = 50'000;
};

// |value - expected| <= max(relative * expected, floor_ns).
bool within(int64_t value, int64_t expected, const Tolerance& t);

// The statistic of a LatencySummary that `measured vs simulated` compares.
enum class Statistic { kP50, kP90, kP99, kMax };
std::optional<Statistic> parse_statistic(const std::string& name);  // "p50", "p90", "p99", "max"
std::string to_string(Statistic s);
int64_t pick(const wl::LatencySummary& s, Statistic st);

// The analytic worst-case model-induced delay of a high-priority periodic
// task beside a task in a non-preemptible kernel section of `section_ns`
// that calls cond_resched() every `cond_resched_ns` (0: never):
// NONE and VOLUNTARY wait for the section's end or the next cond_resched
// (only explicit points and the return to user switch there:
// __cond_resched(), exit_to_user_mode_loop());
// FULL, LAZY (an RT wakeup sets NEED_RESCHED, not LAZY) and RT switch at
// the interrupt's exit: 0 plus costs the tolerance's floor covers.
int64_t analytic_worst_delay_ns(exec::Model m, int64_t section_ns, int64_t cond_resched_ns);

struct ValidateConfig {
  std::string workload = "kernel-path";  // a description declaring section_us
  std::vector<std::string> sets;         // other --set key=value for it
  std::vector<std::string> models;       // names, in order
  std::vector<int64_t> sections_us = {100, 200, 500, 1000, 2000, 5000};
  double load = 0.75;
  double duration_s = 2.0;
  int64_t cond_resched_us = 0;  // from the workload's cond_resched_us parameter
  std::string clock = "real";   // "real" or "simulated" (no real runs)
  Statistic statistic = Statistic::kP99;
  Tolerance tolerance;
  uint64_t seed = 1;
};

struct ValidateRow {
  std::string model;
  int64_t section_us = 0;
  int64_t analytic_ns = 0;                     // worst delay by analysis
  wl::LatencySummary simulated;                // model delay, simulated clock
  std::optional<wl::LatencySummary> measured;  // model delay, real clock
  bool simulated_ok = false;                   // check 1
  std::optional<bool> measured_ok;             // check 2 (real clock only)
  std::vector<std::string> notes;              // why a check failed, cell notes
  bool ok() const { return simulated_ok && measured_ok.value_or(true); }
};

struct ValidateResult {
  ValidateConfig config;
  nlohmann::json machine;  // pb::to_json(collect_machine_info()), or null
  std::vector<ValidateRow> rows;
  bool partial = false;  // interrupted before every row ran
  std::string started, finished;
  bool pass() const;  // every row ok, and not partial
};

// Fills the checks of `row` (simulated_ok, measured_ok, notes) from its
// figures and the configuration.
void judge(const ValidateConfig& c, ValidateRow* row);

// The table people read: one row per model and section, the analytic bound,
// simulated p99 and max, measured statistic, measured / simulated,
// measured / section, and the verdict.
std::string render_validate_table(const ValidateResult& r);
// Schema "preemptbench.validate/1".
nlohmann::ordered_json to_json(const ValidateResult& r);

}  // namespace pb::scenarios
