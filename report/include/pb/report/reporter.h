// One reporter interface for `preemptbench report`'s formats: Markdown, CSV
// and a self-contained HTML page. Reporters only read a finished Report and
// write text to an injected stream; adding a format is one file and one line
// in make_reporter().
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "pb/report/table.h"

namespace pb::report {

// A plot drawn by plot_report.py: its title and the PNG file (in the output
// directory), with the file's bytes for reporters that embed it.
struct Plot {
  std::string title;
  std::string file;  // file name, relative to the report's directory
  std::string png;   // the bytes (HTML embeds them; Markdown links `file`)
};

struct Report {
  Table table;
  std::vector<std::string> sources;  // "path (format, tool)" per input file, in order
  std::vector<Plot> plots;
  std::string plot_note;  // why there are no plots, when there are none
};

enum class ReportFormat { kMarkdown, kCsv, kHtml };

// "md", "csv", "html"; nullopt for anything else.
std::optional<ReportFormat> parse_report_format(std::string_view name);
// "report.md", "report.csv", "report.html".
std::string_view report_file_name(ReportFormat f);

class ReportReporter {
 public:
  virtual ~ReportReporter() = default;
  virtual void report(const Report& r, std::ostream& out) const = 0;
};

std::unique_ptr<ReportReporter> make_markdown_report_reporter();  // markdown_reporter.cc
std::unique_ptr<ReportReporter> make_csv_report_reporter();       // csv_reporter.cc
std::unique_ptr<ReportReporter> make_html_report_reporter();      // html_reporter.cc
std::unique_ptr<ReportReporter> make_report_reporter(ReportFormat f);
std::string render_report(ReportFormat f, const Report& r);

// The data the plot script reads, schema "preemptbench.report/1": every row
// with its key, figures, reference and pooled histogram, and each round's
// p99 and throughput (report_json.cc).
inline constexpr const char kReportSchema[] = "preemptbench.report/1";
std::string render_report_json(const Report& r);

// --- shared formatting (format.cc) -----------------------------------------------

// ns as µs with one decimal ("17.0"); "—" style n/a is the caller's.
std::string format_us(double ns);
// A row's percentile cell: "17.0", "≥200.0" beyond the histogram range, or
// "n/a" without a histogram.
std::string format_percentile(const Row& r, double p);
// "+12.3%", "-4.0%", "" when nullopt.
std::string format_change(std::optional<double> pct);
// "0.5", "1", "" for none.
std::string format_load(const std::optional<double>& load);
// ops/s: whole numbers from 100 up ("12346"), two decimals below.
std::string format_rate(double ops_per_s);

// The human table (Markdown and HTML): the column titles and, per row, the
// cells as plain text (the reporter escapes them). Change columns appear only
// with a reference; a reference row shows "ref" there.
std::vector<std::string> table_header(const Table& t);
std::vector<std::string> table_cells(const Table& t, const Row& r);
// "4 result files, 3 rows; reference: label = vm1" — the line above the table.
std::string table_summary(const Report& r);

}  // namespace pb::report
