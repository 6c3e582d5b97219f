// Helpers for the report_*, compare_* and ingest_* tests: golden files with
// placeholders, result documents built in memory, scratch directories.
//
// Golden files: each line of the golden must match the same line of the
// output; "{{NUM}}" matches a number (digits, sign, point, exponent) and
// "{{ANY}}" any text. PB_UPDATE_GOLDEN=1 rewrites a golden from the output
// (placeholders are lost: put them back by hand).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pb/report/record.h"
#include "pb/report/run_document.h"

namespace pb::testing {

inline std::string golden_path(const std::string& name) {
  return std::string(PB_SOURCE_DIR) + "/tests/golden/" + name;
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string line; std::getline(ss, line);) out.push_back(line);
  return out;
}

inline std::regex golden_line_regex(const std::string& line) {
  std::string re;
  for (size_t i = 0; i < line.size();) {
    if (line.compare(i, 7, "{{NUM}}") == 0) {
      re += "[-+]?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?";
      i += 7;
    } else if (line.compare(i, 7, "{{ANY}}") == 0) {
      re += ".*";
      i += 7;
    } else {
      const char c = line[i++];
      if (std::string("\\^$.|?*+()[]{}").find(c) != std::string::npos) re += '\\';
      re += c;
    }
  }
  return std::regex(re);
}

// Compares `actual` with golden file `name` line by line.
inline void expect_golden(const std::string& actual, const std::string& name) {
  const std::string path = golden_path(name);
  if (const char* u = std::getenv("PB_UPDATE_GOLDEN"); u != nullptr && std::string(u) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  const auto want = split_lines(read_all(path));
  const auto got = split_lines(actual);
  ASSERT_FALSE(want.empty()) << "missing golden " << path;
  for (size_t i = 0; i < std::max(want.size(), got.size()); ++i) {
    const std::string w = i < want.size() ? want[i] : "<end of golden>";
    const std::string g = i < got.size() ? got[i] : "<end of output>";
    if (i >= want.size() || i >= got.size() || !std::regex_match(g, golden_line_regex(w))) {
      ADD_FAILURE() << name << " line " << i + 1 << "\n  golden: " << w << "\n  actual: " << g
                    << "\n(whole output:\n"
                    << actual << ")";
      return;
    }
  }
}

// A fresh scratch directory for one test.
inline std::string scratch_dir(const std::string& name) {
  const std::string dir =
      ::testing::TempDir() + "pb_report_" + std::to_string(::getpid()) + "_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_text(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A "preemptbench.run/1" cell whose 100 wakeups are `values` repeated (ns),
// with `ops_per_s` background throughput.
inline wl::CellResult run_cell(const std::string& model, double load, int round,
                               const std::vector<int64_t>& values, double ops_per_s,
                               const std::string& workload = "kernel-path") {
  wl::CellResult c;
  c.model = model;
  c.workload = workload;
  c.load = load;
  c.round = round;
  c.duration_ns = 1'000'000'000;
  wl::MeasuredTask m;
  m.name = "rt";
  m.sched = "fifo:90";
  m.period_ns = 1'000'000;
  for (int i = 0; i < 100; ++i)
    m.latency_hist.record(values[static_cast<size_t>(i) % values.size()]);
  m.periods = m.latency_hist.count();
  m.latency = wl::LatencySummary::of(m.latency_hist, 0);
  m.model_delay = wl::LatencySummary::of(m.model_delay_hist, 0);
  c.measured.push_back(m);
  c.throughput.ops = static_cast<uint64_t>(ops_per_s);
  c.throughput.ops_per_s = ops_per_s;
  return c;
}

inline report::RunDocument run_doc(const std::string& label, const std::string& kernel,
                                   std::vector<wl::CellResult> cells) {
  report::RunDocument d;
  d.tool_version = "0.1.0";
  d.label = label;
  d.machine = {
      {"hostname", label}, {"kernel", {{"release", kernel}}}, {"preemption", {{"model", "full"}}}};
  d.cells = std::move(cells);
  d.cells_planned = static_cast<int>(d.cells.size());
  return d;
}

inline void write_run(const std::string& path, const report::RunDocument& d) {
  write_text(path, report::dump_json(report::to_json(d)));
}

}  // namespace pb::testing
