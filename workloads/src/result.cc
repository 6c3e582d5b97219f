#include "pb/workloads/result.h"

namespace pb::wl {

LatencySummary LatencySummary::of(const LatencyHistogram& h, uint64_t missed) {
  LatencySummary s;
  s.count = h.count();
  s.missed = missed;
  if (s.count == 0) return s;
  s.min = h.min();
  s.p50 = h.percentile(50);
  s.p90 = h.percentile(90);
  s.p99 = h.percentile(99);
  s.p999 = h.percentile(99.9);
  s.max = h.max();
  return s;
}

}  // namespace pb::wl
