// pb-cyclictest's outputs, each a pure function of value types so tests can
// hold them against golden text: cyclictest 2.4's thread line and histogram
// block (so existing parsers and OSADL-style plot scripts keep working), our
// percentile lines, and the JSON document (a superset of cyclictest's).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "measure.h"
#include "options.h"

namespace pb::cyclic {

inline constexpr const char kJsonSchema[] = "preemptbench.cyclic/1";

// One thread line's figures, already in the output unit (us, or ns with -N).
struct LineFigures {
  int index = 0;
  int tid = 0;
  int priority = 0;
  int64_t interval_us = 0;
  uint64_t cycles = 0;
  int64_t min = 0;
  int64_t act = 0;
  int64_t avg = 0;
  int64_t max = 0;
};

LineFigures figures_from_live(const ThreadPlan& plan, const LiveStats& live, bool nsecs);
LineFigures figures_from_result(const ThreadResult& r, bool nsecs);

// "T: 0 ( 4434) P:80 I:1000 C:   2000 Min:     11 Act:   13 Avg:   19 Max:     160"
// (no newline). Before the first cycle Min shows 1000000, as in cyclictest.
std::string format_thread_line(const LineFigures& f, bool nsecs);

// Our additions, as comment lines in cyclictest's own style (one line per
// statistic, one column per thread, "# KEY: VALUES"), so that every parser
// that turns "# KEY: VALUE" lines into metrics (lkp-tests, mmtests) gets
// keys that are the same on every run:
//   # P50 Latencies: 00012 00011        (also P90, P99, P99.9, P99.99)
//   # Missed Periods: 00000 00003
//   # Partial Run Seconds: 1.234         (only when a signal ended the run)
// Printed before cyclictest's own summary, so that the summary still ends
// the output as in cyclictest (parsers that read its last lines).
std::string format_comment_lines(const RunResult& run, bool nsecs);

// cyclictest's status block (SIGUSR1 on stderr, SIGUSR2 in
// /dev/shm/cyclictest<pid>): a dashed line, "# cyclictest current status:",
// one thread line per thread, a dashed line.
std::string format_status_block(const std::vector<LineFigures>& lines, bool nsecs);

// -v: "%8d:%8lu:%8ld" — thread, cycle (0-based), latency in the output unit.
std::string format_verbose_line(int thread, uint64_t cycle, int64_t value);

// --spike: cyclictest's list printed after the run (empty with no spike):
// a blank line, "T:%2d Spike:%8ld: TS: %12ld" per recorded spike (TS in us
// on the run's clock), "spikes = N" and a blank line.
std::string format_spikes(const RunResult& run, bool nsecs);

// cyclictest's -h/-H block, from "# Histogram" to the closing blank line.
std::string format_histogram(const RunResult& run, const Options& opts);

// Converts a latency in ns to the output unit (truncating, as cyclictest).
inline int64_t to_unit(int64_t ns, bool nsecs) { return nsecs ? ns : ns / 1000; }

// The --json document. `machine` is the sysinfo fingerprint; `return_code`
// the process exit code.
// Keys keep cyclictest's order (ordered_json), ours follow.
nlohmann::ordered_json to_json(const RunResult& run, const Options& opts,
                               const nlohmann::json& machine, int return_code);

}  // namespace pb::cyclic
