#include "pb/report/reporter.h"

#include <sstream>

namespace pb::report {

std::optional<ReportFormat> parse_report_format(std::string_view name) {
  if (name == "md" || name == "markdown") return ReportFormat::kMarkdown;
  if (name == "csv") return ReportFormat::kCsv;
  if (name == "html") return ReportFormat::kHtml;
  return std::nullopt;
}

std::string_view report_file_name(ReportFormat f) {
  switch (f) {
    case ReportFormat::kMarkdown:
      return "report.md";
    case ReportFormat::kCsv:
      return "report.csv";
    case ReportFormat::kHtml:
      return "report.html";
  }
  return "report";
}

std::unique_ptr<ReportReporter> make_report_reporter(ReportFormat f) {
  switch (f) {
    case ReportFormat::kMarkdown:
      return make_markdown_report_reporter();
    case ReportFormat::kCsv:
      return make_csv_report_reporter();
    case ReportFormat::kHtml:
      return make_html_report_reporter();
  }
  return make_markdown_report_reporter();
}

std::string render_report(ReportFormat f, const Report& r) {
  std::ostringstream out;
  make_report_reporter(f)->report(r, out);
  return out.str();
}

}  // namespace pb::report
