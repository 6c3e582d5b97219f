// Costs of the latency histogram: recording sits on every measured path,
// percentile and merge run once per report.
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "pb/histogram.h"

namespace {

// Realistic wake-up latencies: mostly 1..20 us (log-normal around ~3 us),
// a 1 % tail up to 10 ms. Precomputed so the RNG is not measured; the ring
// is a power of two so indexing is a mask.
const std::vector<int64_t>& latency_ring() {
  static const std::vector<int64_t> ring = [] {
    std::mt19937_64 gen(42);
    std::lognormal_distribution<double> body(std::log(3000.0), 0.6);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<int64_t> v(1 << 16);
    for (auto& x : v) {
      x = unit(gen) < 0.01 ? static_cast<int64_t>(std::exp(unit(gen) * std::log(1e7)))
                           : static_cast<int64_t>(body(gen));
    }
    return v;
  }();
  return ring;
}

std::unique_ptr<pb::LatencyHistogram> filled_histogram() {
  auto h = std::make_unique<pb::LatencyHistogram>();
  for (int64_t v : latency_ring()) h->record(v);
  return h;
}

void histogram_record(benchmark::State& state) {
  const std::vector<int64_t>& ring = latency_ring();
  const size_t mask = ring.size() - 1;
  auto h = std::make_unique<pb::LatencyHistogram>();
  size_t i = 0;
  for (auto _ : state) {
    h->record(ring[i++ & mask]);
    // Real recorders call the clock between samples, so the histogram's
    // fields are stored on every sample, not kept in registers.
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(h->count());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(histogram_record);

void histogram_percentile(benchmark::State& state) {
  const auto h = filled_histogram();
  for (auto _ : state) benchmark::DoNotOptimize(h->percentile(99.9));
}
BENCHMARK(histogram_percentile);

void histogram_merge(benchmark::State& state) {
  const auto src = filled_histogram();
  auto dst = std::make_unique<pb::LatencyHistogram>();
  for (auto _ : state) {
    dst->merge(*src);
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(dst->count());
}
BENCHMARK(histogram_merge);

}  // namespace
