// Response-time analysis for fixed-priority preemptive scheduling on one CPU:
// the expectations the scenarios are held against. Pure arithmetic on the
// parameters (no simulation): fixed-point iterations over closed-form demand
// functions.
//
// Notation: a task of cost C and period T is preempted by higher-priority
// periodic sources j (arrivals at phase_j + k T_j, k >= 0, each costing C_j)
// and blocked for B by lower-priority non-preemptible work present at its
// release.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace pb::scenarios::rta {

// Higher-priority work: arrivals at phase + k x period (k >= 0), cost each.
struct Source {
  int64_t phase = 0;
  int64_t period = 0;
  int64_t cost = 0;
};

// Work of `s` arriving in [a, b).
int64_t arrivals(const Source& s, int64_t a, int64_t b);
int64_t arrivals(const std::vector<Source>& hp, int64_t a, int64_t b);

// Higher-priority work that arrived before t and is not done at t (the CPU
// serves it ahead of everything of lower priority).
int64_t backlog(const std::vector<Source>& hp, int64_t t);

// The classic critical-instant fixed point (every source arrives with the
// job at 0): the smallest R = B + C + sum_j ceil(R / T_j) C_j. nullopt when R
// exceeds `limit` (utilization >= 1 at this level, or a deadline far away).
std::optional<int64_t> response_time(int64_t C, int64_t B, const std::vector<Source>& hp,
                                     int64_t limit);

// Exact response times of the first n jobs of a periodic task (releases at
// first + k T, each needing B + C of the CPU at its level; B models the
// lower-priority non-preemptible work found at each release) under the
// sources `hp`. A job still running at its successor's release keeps the CPU;
// the successor starts when it finishes (its response counts from its own
// release): the executive's wait_next_period(), which returns at once for a
// release already past. Job k finishes at the smallest
//   f = s_k + B + C + Q(s_k) + A[s_k, f),   s_k = max(r_k, f_{k-1}),
// with A the hp arrivals and Q the hp backlog; response r_k -> f_k. An entry
// is -1 when it would exceed `limit`.
std::vector<int64_t> job_responses(int64_t first, int64_t T, int64_t C, int64_t B,
                                   const std::vector<Source>& hp, int n, int64_t limit);

}  // namespace pb::scenarios::rta
