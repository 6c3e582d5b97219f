// The reporters of `preemptbench run`, held line by line against golden
// files in tests/golden/ where "{n}" stands for any number (so the files
// describe the format, not the figures), plus exact checks of the figures
// that are derived (relative throughput) and of escaping.
//
// To regenerate the golden files after a deliberate format change:
//   PB_UPDATE_GOLDEN=1 build/run_reporter_test   (then review the diff)
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pb/report/reporter.h"
#include "pb/report/run_summary.h"
#include "run_sample.h"

namespace pb::report {
namespace {

constexpr char kNumber[] = "{n}";
const char* const kNumberRegex = R"(-?[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?)";

std::string golden_path(const std::string& name) {
  return std::string(PB_SOURCE_DIR) + "/tests/golden/" + name;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string regex_escape(const std::string& s) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(s, special, R"(\$&)");
}

// A golden line as a regex: literal text, "{n}" for a number.
std::regex line_regex(const std::string& golden) {
  std::string re;
  size_t pos = 0;
  for (size_t hit; (hit = golden.find(kNumber, pos)) != std::string::npos; pos = hit + 3) {
    re += regex_escape(golden.substr(pos, hit - pos)) + kNumberRegex;
  }
  re += regex_escape(golden.substr(pos));
  return std::regex(re);
}

bool is_number(const std::string& s) {
  static const std::regex number(kNumberRegex);
  return std::regex_match(s, number);
}

// For PB_UPDATE_GOLDEN: each number that stands alone between `sep`s
// becomes "{n}" (table cells, CSV fields, column-aligned figures).
std::string placeholders(const std::string& line, char sep) {
  std::string out, cell;
  const auto flush = [&] {
    const auto b = cell.find_first_not_of(' ');
    const auto e = cell.find_last_not_of(' ');
    if (b != std::string::npos && is_number(cell.substr(b, e - b + 1))) {
      out += cell.substr(0, b) + kNumber + cell.substr(e + 1);
    } else {
      out += cell;
    }
    cell.clear();
  };
  for (char c : line) {
    if (c == sep) {
      flush();
      out += c;
    } else {
      cell += c;
    }
  }
  flush();
  return out;
}

// Runs of spaces become one (the terminal table pads columns to the widest
// figure, which the placeholders do not preserve; TableColumnsAlign checks
// the padding).
std::string collapse_spaces(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  return out;
}

// Compares `actual` with the golden file line by line. `sep` says how the
// golden file's placeholders were made (for regeneration only).
void expect_matches_golden(const std::string& actual, const std::string& name, char sep,
                           bool (*is_figure_line)(const std::string&), bool collapse = false) {
  const std::string path = golden_path(name);
  if (const char* update = std::getenv("PB_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream out(path);
    for (const auto& line : lines_of(actual)) {
      out << (is_figure_line(line) ? placeholders(line, sep) : line) << '\n';
    }
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing golden file " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  const auto want = lines_of(ss.str());
  const auto got = lines_of(actual);
  for (size_t i = 0; i < std::min(want.size(), got.size()); ++i) {
    const std::string g = collapse ? collapse_spaces(got[i]) : got[i];
    const std::string w = collapse ? collapse_spaces(want[i]) : want[i];
    EXPECT_TRUE(std::regex_match(g, line_regex(w)))
        << name << ":" << i + 1 << "\n  golden: " << want[i] << "\n  actual: " << got[i];
  }
  EXPECT_EQ(got.size(), want.size()) << name << ": line count differs\n" << actual;
}

bool md_figure_line(const std::string& line) { return line.rfind("| ", 0) == 0; }
bool csv_figure_line(const std::string& line) { return line.rfind("label,", 0) != 0; }
bool table_figure_line(const std::string& line) {
  const auto first = line.find_first_not_of(' ');
  return first != std::string::npos && std::isdigit(static_cast<unsigned char>(line[first]));
}

TEST(RunReporter, MarkdownMatchesGolden) {
  expect_matches_golden(render(Format::kMarkdown, testing::sample_document()), "run_report.md", '|',
                        md_figure_line);
}

TEST(RunReporter, CsvMatchesGolden) {
  expect_matches_golden(render(Format::kCsv, testing::sample_document()), "run_report.csv", ',',
                        csv_figure_line);
}

TEST(RunReporter, TableMatchesGolden) {
  expect_matches_golden(render(Format::kTable, testing::sample_document()), "run_report.txt", ' ',
                        table_figure_line, /*collapse=*/true);
}

TEST(RunReporter, TableColumnsAlign) {
  // Numbers are right-aligned and the last column is numeric, so every row
  // of a block ends where its header ends.
  const auto lines = lines_of(render(Format::kTable, testing::sample_document()));
  size_t header = 0;
  int rows = 0;
  for (const auto& line : lines) {
    if (line.rfind("load ", 0) == 0) {
      header = line.size();
    } else if (header != 0 && table_figure_line(line)) {
      EXPECT_EQ(line.size(), header) << line;
      ++rows;
    } else {
      header = 0;
    }
  }
  EXPECT_EQ(rows, 6);
}

// `run --format tasks`: per cell, one row per task with its class, CPU share
// of the cell and latency for periodic tasks; a failed cell shows its error.
TEST(RunReporter, TasksShowsEveryTaskOfEveryCell) {
  const std::string text = render(Format::kTasks, testing::sample_document());
  const auto lines = lines_of(text);
  int headers = 0, rt_rows = 0, bg_rows = 0;
  for (const auto& line : lines) {
    if (line.rfind("task ", 0) == 0) ++headers;
    if (line.rfind("rt-periodic ", 0) == 0) {
      ++rt_rows;
      EXPECT_NE(line.find("fifo:90"), std::string::npos) << line;
      EXPECT_NE(line.find("2.0%"), std::string::npos) << line;  // 40 ms of 2 s
    }
    if (line.rfind("bg ", 0) == 0) {
      ++bg_rows;
      EXPECT_NE(line.find("fair:5"), std::string::npos) << line;
      EXPECT_NE(line.find("75.0%"), std::string::npos) << line;  // 1.5 s of 2 s
      EXPECT_NE(line.find(" 312 "), std::string::npos) << line;  // preempted, all points
    }
  }
  EXPECT_EQ(headers, 5);  // the failed cell has no table
  EXPECT_EQ(rt_rows, 5);
  EXPECT_EQ(bg_rows, 5);
  EXPECT_NE(text.find("error: no usable CPU"), std::string::npos);
}

TEST(RunReporter, JsonIsTheDocument) {
  const RunDocument doc = testing::sample_document();
  EXPECT_EQ(render(Format::kJson, doc), dump_json(to_json(doc)));
}

TEST(RunReporter, MarkdownRowsCarryTheFigures) {
  const std::string md = render(Format::kMarkdown, testing::sample_document());
  // full at load 0.5: headline from base 3000 ns, 5000 ops/s = 0.50 of NONE's 10000.
  const std::string row = "| 0.5 | full | ";
  const auto at = md.find(row);
  ASSERT_NE(at, std::string::npos) << md;
  const std::string line = md.substr(at, md.find('\n', at) - at);
  EXPECT_NE(line.find("| 5000 | 0.50 | 62.5 | 1500 | 250 | 123.5 | 7.9 |"), std::string::npos)
      << line;
  EXPECT_NE(md.find("| 1 | full | "), std::string::npos);
  EXPECT_NE(md.find("| 0.90 |"), std::string::npos);  // 18000 vs 20000
  // The failed cell: a row of dashes and its error under the table.
  EXPECT_NE(md.find("| 0.5 | full | error | - |"), std::string::npos) << md;
  EXPECT_NE(md.find("- full, load 0.5: error: no usable CPU"), std::string::npos) << md;
}

TEST(RunReporter, MarkdownEscapesFreeText) {
  RunDocument doc = testing::sample_document();
  doc.label = "a|b*c";
  doc.cells[0].workload = "pipe|name";
  const std::string md = render(Format::kMarkdown, doc);
  EXPECT_NE(md.find("# preemptbench run: a\\|b\\*c"), std::string::npos);
  EXPECT_NE(md.find("## pipe\\|name"), std::string::npos);
  EXPECT_NE(md.find("skipped \\| part"), std::string::npos);
  EXPECT_EQ(md.find("a|b"), std::string::npos);
}

TEST(RunReporter, CsvQuotesFieldsWithSeparators) {
  RunDocument doc = testing::sample_document();
  doc.cells[5].error = "bad, \"quoted\"\nline";
  const std::string csv = render(Format::kCsv, doc);
  EXPECT_NE(csv.find(",\"bad, \"\"quoted\"\"\nline\"\n"), std::string::npos) << csv;
  // Every row has the header's number of fields outside quotes.
  const auto header = csv.substr(0, csv.find('\n'));
  const auto fields = std::count(header.begin(), header.end(), ',') + 1;
  EXPECT_EQ(fields, 32);
}

TEST(RunReporter, PartialRunSaysSoInEveryTextFormat) {
  RunDocument doc = testing::sample_document();
  doc.partial = true;
  doc.stopped_by = "SIGINT";
  const std::string want = "PARTIAL: stopped by SIGINT after 6 of 6 cells";
  EXPECT_NE(render(Format::kMarkdown, doc).find("> **" + want + "**"), std::string::npos);
  EXPECT_NE(render(Format::kTable, doc).find(want), std::string::npos);
  EXPECT_EQ(render(Format::kTable, testing::sample_document()).find("PARTIAL"), std::string::npos);
}

TEST(RunReporter, EmptyRunStillReports) {
  RunDocument doc = testing::sample_document();
  doc.cells.clear();
  EXPECT_NE(render(Format::kMarkdown, doc).find("No cell was measured."), std::string::npos);
  EXPECT_NE(render(Format::kTable, doc).find("no cell was measured"), std::string::npos);
  EXPECT_EQ(lines_of(render(Format::kCsv, doc)).size(), 1u);
}

TEST(RunReporter, RoundColumnOnlyWithRounds) {
  RunDocument doc = testing::sample_document();
  EXPECT_EQ(render(Format::kMarkdown, doc).find("| round |"), std::string::npos);
  doc.config.rounds = 2;
  doc.cells[1].round = 1;
  const std::string md = render(Format::kMarkdown, doc);
  EXPECT_NE(md.find("| load | model | round | count | p50 us |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 0.5 | full | 1 | "), std::string::npos) << md;
}

TEST(RunReporter, FormatsHaveNamesAndFiles) {
  for (const char* name : {"table", "tasks", "json", "csv", "md"}) {
    const auto f = parse_run_format(name);
    ASSERT_TRUE(f) << name;
    EXPECT_EQ(to_string(*f), name);
  }
  EXPECT_FALSE(parse_run_format("markdown"));
  EXPECT_EQ(run_file_name(Format::kJson), "run.json");
  EXPECT_EQ(run_file_name(Format::kMarkdown), "run.md");
  EXPECT_EQ(run_file_name(Format::kCsv), "run.csv");
}

}  // namespace
}  // namespace pb::report
