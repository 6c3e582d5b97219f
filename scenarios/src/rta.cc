#include "pb/scenarios/rta.h"

#include <algorithm>

namespace pb::scenarios::rta {

namespace {
// Arrivals of s at instants in [a, b): k with a <= phase + k T < b, k >= 0.
int64_t count_in(const Source& s, int64_t a, int64_t b) {
  if (s.period <= 0 || b <= a) return 0;
  // first k with phase + k T >= a
  auto first_at_or_after = [&](int64_t x) -> int64_t {
    if (x <= s.phase) return 0;
    return (x - s.phase + s.period - 1) / s.period;
  };
  const int64_t k0 = first_at_or_after(a);
  const int64_t k1 = first_at_or_after(b);  // first k at or after b: excluded
  return std::max<int64_t>(0, k1 - k0);
}
}  // namespace

int64_t arrivals(const Source& s, int64_t a, int64_t b) { return count_in(s, a, b) * s.cost; }

int64_t arrivals(const std::vector<Source>& hp, int64_t a, int64_t b) {
  int64_t w = 0;
  for (const Source& s : hp) w += arrivals(s, a, b);
  return w;
}

// Q(t) = max(0, max over arrival instants u < t of A[u, t) - (t - u)): the
// work-conserving hp level's queue just before t. Only arrivals within the
// hp busy period ending at t matter; walking the arrival instants backwards
// from t until the demand can no longer catch up is exact.
int64_t backlog(const std::vector<Source>& hp, int64_t t) {
  // Collect arrival instants before t, newest first, until a gap shows the
  // hp level idle (demand since u < t - u for every earlier u).
  int64_t best = 0;
  // Candidate u: every arrival instant in [t - horizon, t). The hp busy
  // period is bounded by its own fixed point; bound the walk generously.
  int64_t horizon = 0;
  for (const Source& s : hp) horizon += s.cost;
  // Grow the horizon until the demand in [t - h, t) fits in h.
  for (int i = 0; i < 64; ++i) {
    const int64_t d = arrivals(hp, t - horizon, t);
    if (d <= horizon) break;
    horizon = d;
  }
  for (const Source& s : hp) {
    if (s.period <= 0) continue;
    // Arrival instants of s in [t - horizon, t).
    int64_t k = s.phase >= t - horizon ? 0 : (t - horizon - s.phase + s.period - 1) / s.period;
    for (;; ++k) {
      const int64_t u = s.phase + k * s.period;
      if (u >= t) break;
      best = std::max(best, arrivals(hp, u, t) - (t - u));
    }
  }
  return best;
}

std::optional<int64_t> response_time(int64_t C, int64_t B, const std::vector<Source>& hp,
                                     int64_t limit) {
  int64_t r = B + C;
  for (int i = 0; i < 100000; ++i) {
    int64_t next = B + C;
    for (const Source& s : hp) {
      if (s.period > 0) next += ((r + s.period - 1) / s.period) * s.cost;
    }
    if (next > limit) return std::nullopt;
    if (next == r) return r;
    r = next;
  }
  return std::nullopt;
}

std::vector<int64_t> job_responses(int64_t first, int64_t T, int64_t C, int64_t B,
                                   const std::vector<Source>& hp, int n, int64_t limit) {
  std::vector<int64_t> out;
  int64_t prev_finish = first;
  for (int k = 0; k < n; ++k) {
    const int64_t r = first + k * T;
    const int64_t s = std::max(r, prev_finish);
    const int64_t base = s + B + C + backlog(hp, s);
    int64_t f = base;
    bool ok = false;
    for (int i = 0; i < 100000; ++i) {
      const int64_t next = base + arrivals(hp, s, f);
      if (next - r > limit) break;
      if (next == f) {
        ok = true;
        break;
      }
      f = next;
    }
    if (!ok) {
      out.push_back(-1);
      prev_finish = INT64_MAX / 4;
      continue;
    }
    out.push_back(f - r);
    prev_finish = f;
  }
  return out;
}

}  // namespace pb::scenarios::rta
