// The common value type of `preemptbench report` and `compare`, a Record:
// what one result file says about one cell — one machine, kernel, host
// model, emulated model, workload and load level, one round. Every reader
// (preemptbench.run/1, preemptbench.cyclic/1, cyclictest --json, cyclictest's
// histogram text) produces these; tables, comparisons and plots read only
// these. (A measurement in progress is pb-cyclictest's own class,
// cyclictest-like/measure.h; a Record is what a file recorded.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pb/histogram.h"

namespace pb::report {

enum class SourceFormat {
  kRun,             // "preemptbench.run/1" (preemptbench run)
  kPbCyclic,        // "preemptbench.cyclic/1" (pb-cyclictest --json)
  kCyclictestJson,  // rt-tests 2.x cyclictest --json
  kHistogramText,   // cyclictest -h / OSADL histogram text
};

// "preemptbench.run/1", "preemptbench.cyclic/1", "cyclictest --json",
// "cyclictest histogram".
std::string_view to_string(SourceFormat f);

// Largest latency and sample count a reader accepts. Anything beyond is not a
// measurement (a day-long wakeup, 30 years of 1 µs samples) and is rejected,
// which also keeps every sum below 2^63.
inline constexpr int64_t kMaxLatencyNs = int64_t{86'400} * 1'000'000'000;  // 1 day
inline constexpr uint64_t kMaxSamples = uint64_t{1'000'000'000'000'000};   // 1e15

struct Record {
  // --- the row it belongs to ---------------------------------------------------
  std::string label;       // machine label ("" is never left: readers fill it)
  std::string kernel;      // kernel release, or "unknown"
  std::string host_model;  // the host's preemption model: "full", "rt", "dynamic", ...
  std::string
      model;  // emulated model ("none" ... "rt"), or "host" when the host kernel was measured
  std::string workload;        // run's workload name, "cyclictest", "pb-cyclictest/nanosleep"
  std::optional<double> load;  // run's load level; none for cyclictest runs

  // --- provenance --------------------------------------------------------------
  std::string source;  // the file it came from
  SourceFormat format = SourceFormat::kRun;
  std::string tool;  // "preemptbench 0.1.0", "cyclictest 2.40", ...
  int round = 0;     // the run's round number (files of one cell count as rounds too)

  // --- latency (ns) ------------------------------------------------------------
  // With has_histogram, `histogram` holds every wakeup. cyclictest's linear
  // histogram ends at its -h size: samples beyond it are counted at `max_ns`
  // and ceiling_ns is the first value it could not resolve (0: no limit), so
  // a percentile at or above ceiling_ns is only known to be >= ceiling_ns.
  bool has_histogram = false;
  LatencyHistogram histogram;
  int64_t ceiling_ns = 0;
  // The unit the source measured in (1000 for cyclictest's µs): samples are
  // multiples of it, so percentiles are rounded down to it (still >= the
  // sample they stand for).
  int64_t resolution_ns = 1;
  uint64_t count = 0;  // wakeups measured
  int64_t min_ns = 0;
  int64_t max_ns = 0;
  double mean_ns = 0;
  std::optional<uint64_t> missed;  // periods overrun (cyclictest does not count them)

  // The share of the cell's vCPU time (%) the host did not give a vCPU that
  // had work: stalls of the host (steal, another real-time thread,
  // throttling), included in the latencies above. Run files only.
  std::optional<double> host_stolen_pct;

  // --- throughput --------------------------------------------------------------
  std::optional<double> ops_per_s;  // background operations per second (run only)

  // Non-empty: the cell did not run (the run's error message); no figures.
  std::string error;

  // --- completeness and what it was run with -------------------------------------
  // The cell was cut short by a signal: it measured less than planned.
  bool interrupted = false;
  // The file is a partial result (a run stopped before all its cells ran, a
  // pb-cyclictest run ended by a signal); "" when complete, else why.
  std::string partial;
  // What the cell was run with, for compare's matching (run documents only;
  // empty / nullopt when the format does not say): the workload's canonical
  // description as run (its parameters after --set), and the planned
  // seconds per cell.
  std::string workload_description;
  std::optional<double> duration_s;
};

// The figures a table shows and `compare` tests.
enum class Metric { kMin, kP50, kP90, kP99, kP999, kP9999, kMax, kMean, kMissed, kThroughput };

inline constexpr Metric kAllMetrics[] = {
    Metric::kMin,   Metric::kP50, Metric::kP90,  Metric::kP99,    Metric::kP999,
    Metric::kP9999, Metric::kMax, Metric::kMean, Metric::kMissed, Metric::kThroughput};

// "min", "p50", "p90", "p99", "p99.9" (or "p999"), "p99.99" (or "p9999"),
// "max", "mean", "missed", "throughput"; nullopt for anything else.
std::optional<Metric> parse_metric(std::string_view name);
std::string_view metric_name(Metric m);
// Throughput is better higher; every other metric is better lower.
bool higher_is_better(Metric m);
// The percentile a metric names (50 for kP50), or nullopt.
std::optional<double> metric_percentile(Metric m);

// The value of `m` in one record: latencies in ns, missed as a count,
// throughput in ops/s. nullopt when the record cannot say: an error
// cell, no histogram for a percentile, a percentile beyond cyclictest's
// histogram range, missed periods from cyclictest, throughput outside a run.
std::optional<double> metric_value(const Record& m, Metric metric);

// A percentile of `h` for records limited at `ceiling_ns` (0: none) and
// taken at `resolution_ns`: nullopt when it falls at or beyond the ceiling.
std::optional<int64_t> bounded_percentile(const LatencyHistogram& h, int64_t ceiling_ns,
                                          int64_t resolution_ns, double p);

}  // namespace pb::report
