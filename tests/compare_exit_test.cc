// `preemptbench compare` as a CI gate: exit 0 when nothing regressed beyond
// the threshold, 1 when something did (listed), 2 on bad input — on
// constructed run documents (rounds, so Welch's test decides about noise)
// and on real cyclictest 2.4 output (one round: the threshold decides).
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "report_test_util.h"
#include "tool_runner.h"

namespace pb::report {
namespace {

using pb::testing::golden_path;
using pb::testing::read_all;
using pb::testing::run_cell;
using pb::testing::run_doc;
using pb::testing::write_run;

// A run of `label` with 4 rounds of NONE and FULL at load 1; FULL's p99 in
// round r is full_p99[r], its throughput full_ops.
std::string write_sweep(const std::string& path, const std::string& label,
                        const std::vector<int64_t>& full_p99, double full_ops = 1000) {
  std::vector<wl::CellResult> cells;
  for (int r = 0; r < static_cast<int>(full_p99.size()); ++r) {
    cells.push_back(run_cell("none", 1, r, {20000}, 2000));
    cells.push_back(run_cell("full", 1, r, {full_p99[static_cast<size_t>(r)]}, full_ops));
  }
  write_run(path, run_doc(label, "6.12.0", std::move(cells)));
  return path;
}

struct Gate {
  int exit_code;
  std::string out, err;
};

Gate gate(const std::vector<std::string>& args) {
  std::vector<std::string> a{"compare"};
  a.insert(a.end(), args.begin(), args.end());
  const auto r = pb::testing::run_tool("preemptbench", a);
  return {r.exit_code, r.out, r.err};
}

class CompareExit : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = pb::testing::scratch_dir("gate"); }
  std::string dir_;
};

TEST_F(CompareExit, IdenticalRunsPass) {
  const auto a = write_sweep(dir_ + "/a.json", "vm", {10000, 10100, 9900, 10000});
  const auto g = gate({a, a});
  EXPECT_EQ(g.exit_code, 0) << g.out << g.err;
  EXPECT_NE(g.out.find("compare: no regression beyond the thresholds in 2 cell(s)"),
            std::string::npos)
      << g.out;
}

TEST_F(CompareExit, RegressionBeyondNoiseFails) {
  const auto a = write_sweep(dir_ + "/a.json", "vm", {10000, 10100, 9900, 10000});
  const auto b = write_sweep(dir_ + "/b.json", "vm", {13000, 13100, 12900, 13000});
  const auto g = gate({a, b});
  EXPECT_EQ(g.exit_code, 1) << g.out << g.err;
  EXPECT_NE(g.out.find("compare: 2 regression(s):"), std::string::npos) << g.out;  // p99 and max
  EXPECT_NE(
      g.out.find("kernel-path full load 1: p99 10.0 -> 13.0 µs (+30.0%, higher; limit 10%; p="),
      std::string::npos)
      << g.out;
  const std::string listed = g.out.substr(g.out.find("regression(s):"));
  EXPECT_EQ(listed.find("kernel-path none"), std::string::npos) << "NONE did not move: " << listed;
  // A looser gate lets it through.
  EXPECT_EQ(gate({a, b, "--max-regression", "35%"}).exit_code, 0);
  EXPECT_EQ(gate({a, b, "--max-regression", "p99=35%,max=35%"}).exit_code, 0);
  EXPECT_EQ(gate({a, b, "--metric", "p50,throughput"}).exit_code, 1);  // p50 moved too
  EXPECT_EQ(gate({a, b, "--metric", "throughput"}).exit_code, 0);
}

TEST_F(CompareExit, NoiseIsReportedButPasses) {
  const auto a = write_sweep(dir_ + "/a.json", "vm", {10000, 14000, 8000, 12000});
  const auto b = write_sweep(dir_ + "/b.json", "vm", {16000, 9000, 15000, 11000});
  const auto g = gate({a, b, "--metric", "p99"});
  EXPECT_EQ(g.exit_code, 0) << g.out << g.err;
  EXPECT_NE(g.out.find("| noise | p="), std::string::npos) << g.out;
  EXPECT_NE(g.out.find("within run-to-run noise"), std::string::npos) << g.out;
}

TEST_F(CompareExit, ThroughputDropFails) {
  const auto a = write_sweep(dir_ + "/a.json", "vm", {10000, 10000}, 1000);
  const auto b = write_sweep(dir_ + "/b.json", "vm", {10000, 10000}, 700);
  // Throughput rounds are identical within a side: zero variance, an exact drop.
  const auto g = gate({a, b});
  EXPECT_EQ(g.exit_code, 1) << g.out;
  EXPECT_NE(g.out.find("throughput 1000 -> 700 ops/s (-30.0%, lower"), std::string::npos) << g.out;
}

TEST_F(CompareExit, DirectoriesOfRoundsAndRenamedMachines) {
  // Baseline and candidate each a directory of one-round files; the machine
  // label differs (another host, same experiment): one label per side, so
  // cells match on model, workload and load alone.
  for (int r = 0; r < 3; ++r) {
    write_sweep(dir_ + "/base/r" + std::to_string(r) + ".json", "old-host", {10000 + r * 50});
    write_sweep(dir_ + "/cand/r" + std::to_string(r) + ".json", "new-host", {10020 + r * 50});
  }
  const auto g = gate({dir_ + "/base", dir_ + "/cand"});
  EXPECT_EQ(g.exit_code, 0) << g.out << g.err;
  EXPECT_NE(g.out.find("| 3/3 |"), std::string::npos) << g.out;
}

TEST_F(CompareExit, CyclictestMaxAsAGate) {
  // Real cyclictest 2.4 output against a copy whose worst case got worse.
  const std::string base = golden_path("cyclictest-2.4-t2-h200.json");
  auto j = nlohmann::json::parse(read_all(base));
  j["thread"]["1"]["max"] = 7000;
  const std::string worse = dir_ + "/worse.json";
  pb::testing::write_text(worse, j.dump());
  const auto g = gate({base, worse, "--metric", "max"});
  EXPECT_EQ(g.exit_code, 1) << g.out << g.err;
  EXPECT_NE(
      g.out.find(
          "cyclictest host: max 5833.0 -> 7000.0 µs (+20.0%, higher; limit 10%; single round"),
      std::string::npos)
      << g.out;
  EXPECT_EQ(gate({base, base, "--metric", "max,p99"}).exit_code, 0);
  // p99.9 of this run is beyond its -h 200 histogram: not comparable.
  EXPECT_EQ(gate({base, base, "--metric", "p99.9"}).exit_code, 2);
}

TEST_F(CompareExit, FailedCandidateCellFails) {
  const auto a = write_sweep(dir_ + "/a.json", "vm", {10000});
  std::vector<wl::CellResult> cells{run_cell("none", 1, 0, {20000}, 2000)};
  wl::CellResult failed;
  failed.model = "full";
  failed.workload = "kernel-path";
  failed.load = 1;
  failed.error = "watchdog: task rt on vCPU 0 ran 600 ms without a preemption point";
  cells.push_back(failed);
  const std::string b = dir_ + "/b.json";
  write_run(b, run_doc("vm", "6.12.0", std::move(cells)));
  const auto g = gate({a, b});
  EXPECT_EQ(g.exit_code, 1) << g.out;
  EXPECT_NE(g.out.find("kernel-path full load 1: the candidate cell failed: watchdog"),
            std::string::npos)
      << g.out;
}

TEST_F(CompareExit, BadInputIsTwo) {
  const auto a = write_sweep(dir_ + "/a.json", "vm", {10000});
  pb::testing::write_text(dir_ + "/trunc.json", read_all(a).substr(0, 200));
  EXPECT_EQ(gate({a}).exit_code, 2);
  EXPECT_EQ(gate({a, a, a}).exit_code, 2);
  EXPECT_EQ(gate({a, dir_ + "/missing.json"}).exit_code, 2);
  const auto t = gate({a, dir_ + "/trunc.json"});
  EXPECT_EQ(t.exit_code, 2);
  EXPECT_NE(t.err.find("trunc.json: not valid JSON"), std::string::npos) << t.err;
  EXPECT_EQ(gate({a, golden_path("cyclictest-2.4-t1.json")}).exit_code, 2);  // no cell in common
  EXPECT_EQ(gate({a, a, "--metric", "p42"}).exit_code, 2);
  EXPECT_EQ(gate({a, a, "--max-regression", "lots"}).exit_code, 2);
  EXPECT_EQ(gate({a, a, "--alpha", "2"}).exit_code, 2);
  EXPECT_EQ(gate({a, a, "--test", "t"}).exit_code, 2);
  const auto correction = gate({a, a, "--correction", "bonferroni"});
  EXPECT_EQ(correction.exit_code, 2);
  EXPECT_NE(correction.err.find("holm or none"), std::string::npos) << correction.err;
  EXPECT_EQ(gate({a, a, "--bogus"}).exit_code, 2);
}

// --- fails closed: incomplete or mismatched candidates ---------------------------------

TEST_F(CompareExit, MissingCandidateCellsFailUnlessAccepted) {
  const auto a = write_sweep(dir_ + "/a.json", "vm", {10000, 10100});
  std::vector<wl::CellResult> cells{run_cell("none", 1, 0, {20000}, 2000),
                                    run_cell("none", 1, 1, {20100}, 2000)};
  const std::string b = dir_ + "/b.json";
  write_run(b, run_doc("vm", "6.12.0", std::move(cells)));
  const auto g = gate({a, b});
  EXPECT_EQ(g.exit_code, 1) << g.out << g.err;
  EXPECT_NE(g.out.find("FAILED CLOSED"), std::string::npos) << g.out;
  EXPECT_NE(g.out.find("the candidate lacks 1 cell(s) the baseline has: kernel-path full load 1 "
                       "(--allow-missing accepts it)"),
            std::string::npos)
      << g.out;
  const auto ok = gate({a, b, "--allow-missing"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("(accepted: --allow-missing)"), std::string::npos) << ok.out;
}

TEST_F(CompareExit, InterruptedCandidateCellFailsUnlessAccepted) {
  const auto a = write_sweep(dir_ + "/a.json", "vm", {10000});
  std::vector<wl::CellResult> cells{run_cell("none", 1, 0, {20000}, 2000),
                                    run_cell("full", 1, 0, {10000}, 1000)};
  cells[1].notes.push_back("interrupted: partial cell");
  auto doc = run_doc("vm", "6.12.0", std::move(cells));
  doc.partial = true;
  doc.stopped_by = "SIGINT";
  const std::string b = dir_ + "/b.json";
  write_run(b, doc);
  const auto g = gate({a, b});
  EXPECT_EQ(g.exit_code, 1) << g.out << g.err;
  EXPECT_NE(g.out.find("candidate kernel-path full load 1: 1 of 1 rounds were interrupted"),
            std::string::npos)
      << g.out;
  EXPECT_NE(g.out.find("is a partial run (stopped by SIGINT"), std::string::npos) << g.out;
  EXPECT_EQ(gate({a, b, "--allow-partial"}).exit_code, 0);
  // report shows it too.
  const auto rep = pb::testing::run_tool("preemptbench", {"report", b, "--format", "md"});
  EXPECT_NE(rep.out.find("1 interrupted"), std::string::npos) << rep.out << rep.err;
  EXPECT_NE(rep.out.find("PARTIAL"), std::string::npos) << rep.out;
}

TEST_F(CompareExit, DifferentParametersOrDurationFailUnlessAccepted) {
  const auto doc_with = [](int section_us, double duration_s) {
    auto d =
        run_doc("vm", "6.12.0",
                {run_cell("none", 1, 0, {20000}, 2000), run_cell("full", 1, 0, {10000}, 1000)});
    d.workloads["kernel-path"] = {{"name", "kernel-path"},
                                  {"params", {{"section_us", section_us}}}};
    d.config.duration_s = duration_s;
    return d;
  };
  const std::string a = dir_ + "/a.json", b = dir_ + "/b.json", c = dir_ + "/c.json";
  write_run(a, doc_with(500, 1));
  write_run(b, doc_with(600, 1));
  write_run(c, doc_with(500, 2));
  const auto g = gate({a, b});
  EXPECT_EQ(g.exit_code, 1) << g.out << g.err;
  EXPECT_NE(g.out.find("kernel-path full load 1: run with different workload parameters "
                       "(section_us 500 -> 600) (--allow-different-params accepts it)"),
            std::string::npos)
      << g.out;
  EXPECT_EQ(gate({a, b, "--allow-different-params"}).exit_code, 0);
  const auto d = gate({a, c});
  EXPECT_EQ(d.exit_code, 1) << d.out;
  EXPECT_NE(d.out.find("run with different durations per cell (1 s -> 2 s)"), std::string::npos)
      << d.out;
  EXPECT_EQ(gate({a, c, "--allow-different-duration"}).exit_code, 0);
  EXPECT_EQ(gate({a, a}).exit_code, 0);
}

TEST_F(CompareExit, CopiesOfOneFileAreNotIndependentRounds) {
  const auto one = write_sweep(dir_ + "/one.json", "vm", {10000});
  std::filesystem::create_directories(dir_ + "/copies");
  for (const char* n : {"r0.json", "r1.json", "r2.json"})
    std::filesystem::copy_file(one, dir_ + "/copies/" + n);
  for (int r = 0; r < 3; ++r)
    write_sweep(dir_ + "/cand/r" + std::to_string(r) + ".json", "vm", {10000 + r * 300});
  const auto g = gate({dir_ + "/copies", dir_ + "/cand", "--metric", "p99"});
  EXPECT_NE(g.out.find("baseline kernel-path full load 1: 2 of 3 rounds have figures identical"),
            std::string::npos)
      << g.out;
  EXPECT_NE(g.out.find("| 1/3 |"), std::string::npos) << g.out;
  EXPECT_EQ(g.out.find("| p="), std::string::npos) << "no t-test on copies: " << g.out;
}

}  // namespace
}  // namespace pb::report
