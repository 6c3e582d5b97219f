// `preemptbench report`: golden tables from fixed result files (two machines'
// run documents; real cyclictest 2.4 and pb-cyclictest output), the reference
// column, and the command end to end (files written, the HTML page
// self-contained, plots embedded when matplotlib is there).
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pb/report/readers.h"
#include "pb/report/reporter.h"
#include "pb/report/table.h"
#include "report_test_util.h"
#include "tool_runner.h"

namespace pb::report {
namespace {

using pb::testing::expect_golden;
using pb::testing::golden_path;
using pb::testing::read_all;

Report make_report(const std::vector<std::string>& files,
                   const std::optional<std::string>& reference) {
  std::vector<std::string> paths;
  for (const auto& f : files) paths.push_back(golden_path(f));
  std::vector<Record> ms;
  std::string error;
  EXPECT_TRUE(collect(paths, &ms, nullptr, &error)) << error;
  Report r;
  for (const auto& m : ms) {
    const std::string s = std::filesystem::path(m.source).filename().string() + " (" +
                          std::string(to_string(m.format)) + ", " + m.tool + ")";
    if (r.sources.empty() || r.sources.back() != s) r.sources.push_back(s);
  }
  std::optional<ReferenceSelector> sel;
  if (reference) {
    ReferenceSelector s;
    EXPECT_TRUE(parse_reference(*reference, &s, &error)) << error;
    sel = s;
  }
  EXPECT_TRUE(build_table(std::move(ms), sel, &r.table, &error)) << error;
  return r;
}

TEST(ReportTable, TwoMachinesAgainstAReferenceMachine) {
  const Report r = make_report({"report_run-vm1.json", "report_run-vm2.json"}, "vm1");
  ASSERT_EQ(r.table.rows.size(), 8u);
  // Rows of one machine, workload and load sit together, models in kernel order.
  EXPECT_EQ(r.table.rows[0].key.model, "none");
  EXPECT_EQ(r.table.rows[1].key.model, "full");
  for (const Row& row : r.table.rows) {
    ASSERT_TRUE(row.reference.has_value());
    const RowKey& ref = r.table.rows[*row.reference].key;
    EXPECT_EQ(ref.label, "vm1");
    EXPECT_EQ(ref.model, row.key.model);
    EXPECT_EQ(ref.load, row.key.load);
    EXPECT_EQ(row.rounds.size(), 2u);  // two rounds pooled into one row
  }
  expect_golden(render(Format::kMarkdown, r), "report_two_machines.md");
  expect_golden(render(Format::kCsv, r), "report_two_machines.csv");
}

TEST(ReportTable, ReferenceByModel) {
  const Report r = make_report({"report_run-vm2.json"}, "model=none");
  ASSERT_EQ(r.table.rows.size(), 4u);
  for (const Row& row : r.table.rows) {
    ASSERT_TRUE(row.reference.has_value());
    EXPECT_EQ(r.table.rows[*row.reference].key.model, "none");
    EXPECT_EQ(r.table.rows[*row.reference].key.load, row.key.load);
  }
  // FULL is faster than NONE on this fixture: a negative change.
  const auto change = change_pct(r.table, r.table.rows[1], Metric::kP99);
  ASSERT_TRUE(change.has_value());
  EXPECT_LT(*change, 0);
  expect_golden(render(Format::kCsv, r), "report_reference_model.csv");
}

TEST(ReportTable, OldAndNewCyclictestRunsInOneTable) {
  const Report r = make_report(
      {"cyclictest-2.4-t1.json", "cyclictest-2.4-t1-ns.json", "cyclictest-2.4-t2-h200.json",
       "cyclictest-2.4-t2-h200.txt", "cyclictest-2.4-h20.txt", "report_pbcyclic-vm.json"},
      std::nullopt);
  expect_golden(render(Format::kMarkdown, r), "report_cyclictest.md");
}

Record p99_round(int round, int64_t p99_ns, std::optional<double> stolen_pct) {
  Record m;
  m.label = "vm";
  m.kernel = "k";
  m.host_model = "full";
  m.model = "full";
  m.workload = "w";
  m.load = 1;
  m.round = round;
  m.histogram.record_n(p99_ns, 100);
  m.has_histogram = true;
  m.count = 100;
  m.min_ns = m.max_ns = p99_ns;
  m.mean_ns = static_cast<double>(p99_ns);
  m.missed = 0;
  m.host_stolen_pct = stolen_pct;
  return m;
}

// Rounds show their spread (each round's own p99) beside the pooled p99, and
// a round in which the host stole >= 1 % of the vCPU time marks its row.
TEST(ReportTable, SpreadOverRoundsAndStolenTimeMark) {
  std::vector<Record> ms{p99_round(0, 10000, 0.1), p99_round(1, 30000, 2.5),
                         p99_round(2, 12000, 0.0)};
  Report r;
  std::string error;
  ASSERT_TRUE(build_table(ms, std::nullopt, &r.table, &error)) << error;
  ASSERT_EQ(r.table.rows.size(), 1u);
  const Row& row = r.table.rows[0];
  ASSERT_TRUE(row.p99_round_median.has_value());
  EXPECT_NEAR(*row.p99_round_median, 12000, 50);
  EXPECT_NEAR(*row.p99_round_min, 10000, 50);
  EXPECT_NEAR(*row.p99_round_max, 30000, 150);
  EXPECT_DOUBLE_EQ(*row.host_stolen_pct_max, 2.5);
  const std::string md = render(Format::kMarkdown, r);
  EXPECT_NE(md.find("p99 per round µs"), std::string::npos) << md;
  EXPECT_NE(md.find("12.0 (10.0–30."), std::string::npos) << md;
  EXPECT_NE(md.find(" †"), std::string::npos) << md;
  EXPECT_NE(md.find("the host did not run a vCPU"), std::string::npos) << md;
  // One round: no spread column, and no mark under 1 %.
  std::vector<Record> one{p99_round(0, 10000, 0.5)};
  ASSERT_TRUE(build_table(one, std::nullopt, &r.table, &error)) << error;
  EXPECT_FALSE(r.table.rows[0].p99_round_median.has_value());
  const std::string md1 = render(Format::kMarkdown, r);
  EXPECT_EQ(md1.find("p99 per round"), std::string::npos) << md1;
  EXPECT_EQ(md1.find(" †"), std::string::npos) << md1;
}

TEST(ReportTable, UnknownReferenceIsAnError) {
  std::vector<Record> ms;
  std::string error;
  ASSERT_TRUE(collect({golden_path("report_run-vm1.json")}, &ms, nullptr, &error)) << error;
  Table t;
  EXPECT_FALSE(build_table(ms, ReferenceSelector{"label", "nosuch"}, &t, &error));
  EXPECT_NE(error.find("no row has label \"nosuch\""), std::string::npos) << error;
  ReferenceSelector s;
  EXPECT_FALSE(parse_reference("colour=red", &s, &error));
}

TEST(ReportTable, EscapesEveryFormat) {
  Record m;
  m.label = "a|b<c>&\"d\",e";
  m.kernel = "k\nl";
  m.host_model = "full";
  m.model = "host";
  m.workload = "w*_`";
  m.source = "s";
  m.count = 1;
  m.min_ns = m.max_ns = 1000;
  Report r;
  r.sources.push_back("s <x>");
  std::string error;
  ASSERT_TRUE(build_table({m}, std::nullopt, &r.table, &error));
  const std::string md = render(Format::kMarkdown, r);
  EXPECT_NE(md.find("a\\|b\\<c>&\"d\",e"), std::string::npos) << md;
  EXPECT_EQ(md.find("k\nl"), std::string::npos);
  const std::string html = render(Format::kHtml, r);
  EXPECT_NE(html.find("a|b&lt;c&gt;&amp;&quot;d&quot;,e"), std::string::npos);
  EXPECT_NE(html.find("s &lt;x&gt;"), std::string::npos);
  const std::string csv = render(Format::kCsv, r);
  EXPECT_NE(csv.find("\"a|b<c>&\"\"d\"\",e\",\"k\nl\""), std::string::npos) << csv;
}

TEST(ReportCommand, WritesEveryFormatAndASelfContainedPage) {
  const std::string out = pb::testing::scratch_dir("cmd") + "/out";
  const auto r = pb::testing::run_tool(
      "preemptbench",
      {"report", golden_path("report_run-vm1.json"), golden_path("report_run-vm2.json"),
       golden_path("cyclictest-2.4-t2-h200.txt"), "--out", out, "--reference", "vm1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"report.md", "report.csv", "report.html", "report.json"}) {
    EXPECT_TRUE(std::filesystem::exists(out + "/" + f)) << f;
    EXPECT_NE(r.out.find(out + "/" + f), std::string::npos) << r.out;
  }
  const std::string html = read_all(out + "/report.html");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  // Nothing fetched from elsewhere: no URL, no script, images inline.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  const bool python = ::access("/usr/bin/python3", X_OK) == 0;
  const bool matplotlib =
      python && std::system("/usr/bin/python3 -c 'import matplotlib' 2>/dev/null") == 0;
  if (matplotlib) {
    // Per workload: kernel-path has throughput, cyclictest does not.
    for (const char* f :
         {"latency-vs-throughput-kernel-path.png", "histogram-kernel-path.png",
          "cdf-kernel-path.png", "histogram-cyclictest.png", "cdf-cyclictest.png"}) {
      EXPECT_TRUE(std::filesystem::exists(out + "/" + std::string(f))) << f;
    }
    EXPECT_FALSE(std::filesystem::exists(out + "/latency-vs-throughput-cyclictest.png"));
    size_t images = 0;
    for (size_t at = 0;
         (at = html.find("src=\"data:image/png;base64,iVBORw0KGgo", at)) != std::string::npos; ++at)
      ++images;
    EXPECT_EQ(images, 5u);
    EXPECT_EQ(html.find("src=\"latency"), std::string::npos);  // never a file reference
    const std::string md = read_all(out + "/report.md");
    EXPECT_NE(md.find("](cdf-kernel-path.png)"), std::string::npos);
  } else if (python) {
    EXPECT_NE(html.find("matplotlib is not installed"), std::string::npos);
    EXPECT_NE(r.err.find("matplotlib is not installed"), std::string::npos);
  } else {  // no python3 at all (a minimal system): the plots are skipped, saying so
    EXPECT_NE(html.find("plots skipped"), std::string::npos);
    EXPECT_NE(r.err.find("note: plots skipped"), std::string::npos) << r.err;
  }
}

TEST(ReportCommand, WithoutMatplotlibSaysSo) {
  // A python3 that is not there stands in for a missing matplotlib install:
  // the report is still written, with the reason instead of the plots.
  const std::string out = pb::testing::scratch_dir("noplot") + "/out";
  ::setenv("PB_PYTHON", "/nonexistent/python3", 1);
  const auto r = pb::testing::run_tool(
      "preemptbench", {"report", golden_path("cyclictest-2.4-h20.txt"), "--out", out});
  ::unsetenv("PB_PYTHON");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("note: plots skipped"), std::string::npos) << r.err;
  EXPECT_NE(read_all(out + "/report.html").find("plots skipped"), std::string::npos);
}

TEST(ReportCommand, PrintsOneFormatWithoutOut) {
  const auto r = pb::testing::run_tool(
      "preemptbench", {"report", golden_path("cyclictest-2.4-h20.txt"), "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("label,kernel,host_model,", 0), 0u) << r.out;
  EXPECT_EQ(pb::testing::run_tool("preemptbench", {"report", golden_path("cyclictest-2.4-h20.txt"),
                                                   "--format", "md,csv"})
                .exit_code,
            2);
  EXPECT_EQ(pb::testing::run_tool("preemptbench", {"report", golden_path("cyclictest-2.4-h20.txt"),
                                                   "--format", "pdf"})
                .exit_code,
            2);
  EXPECT_EQ(pb::testing::run_tool("preemptbench", {"report"}).exit_code, 2);
  EXPECT_EQ(pb::testing::run_tool("preemptbench", {"report", golden_path("cyclictest-2.4-h20.txt"),
                                                   "--reference", "nosuch"})
                .exit_code,
            2);
}

}  // namespace
}  // namespace pb::report
