// Costs of the clocks every measurement stands on.
#include <benchmark/benchmark.h>

#include "pb/cycleclock.h"
#include "pb/sys.h"

namespace {

void cycleclock_ticks(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(pb::cycleclock::ticks());
}
BENCHMARK(cycleclock_ticks);

void clock_gettime_monotonic(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(pb::sys::now_ns());
}
BENCHMARK(clock_gettime_monotonic);

}  // namespace
