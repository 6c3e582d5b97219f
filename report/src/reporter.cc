#include "pb/report/reporter.h"

#include "reporters.h"

namespace pb::report {

std::string_view to_string(Format f) {
  switch (f) {
    case Format::kTable:
      return "table";
    case Format::kJson:
      return "json";
    case Format::kCsv:
      return "csv";
    case Format::kMarkdown:
      return "md";
    case Format::kHtml:
      return "html";
    case Format::kTasks:
      return "tasks";
  }
  return "?";
}

std::optional<Format> parse_run_format(std::string_view name) {
  if (name == "table") return Format::kTable;
  if (name == "json") return Format::kJson;
  if (name == "csv") return Format::kCsv;
  if (name == "md") return Format::kMarkdown;
  if (name == "tasks") return Format::kTasks;
  return std::nullopt;
}

std::optional<Format> parse_report_format(std::string_view name) {
  if (name == "md" || name == "markdown") return Format::kMarkdown;
  if (name == "csv") return Format::kCsv;
  if (name == "html") return Format::kHtml;
  return std::nullopt;
}

std::string_view run_file_name(Format f) {
  switch (f) {
    case Format::kJson:
      return "run.json";
    case Format::kCsv:
      return "run.csv";
    case Format::kMarkdown:
      return "run.md";
    case Format::kTable:
    case Format::kHtml:
    case Format::kTasks:
      break;
  }
  return "";
}

std::string_view report_file_name(Format f) {
  switch (f) {
    case Format::kMarkdown:
      return "report.md";
    case Format::kCsv:
      return "report.csv";
    case Format::kHtml:
      return "report.html";
    case Format::kJson:
      return "report.json";
    case Format::kTable:
    case Format::kTasks:
      break;
  }
  return "";
}

template <>
std::unique_ptr<Reporter<RunDocument>> make_reporter<RunDocument>(Format f) {
  switch (f) {
    case Format::kTable:
      return detail::make_run_table_reporter();
    case Format::kJson:
      return detail::make_run_json_reporter();
    case Format::kCsv:
      return detail::make_run_csv_reporter();
    case Format::kMarkdown:
      return detail::make_run_markdown_reporter();
    case Format::kTasks:
      return detail::make_run_tasks_reporter();
    case Format::kHtml:
      break;
  }
  return nullptr;
}

template <>
std::unique_ptr<Reporter<Report>> make_reporter<Report>(Format f) {
  switch (f) {
    case Format::kJson:
      return detail::make_report_json_reporter();
    case Format::kCsv:
      return detail::make_report_csv_reporter();
    case Format::kMarkdown:
      return detail::make_report_markdown_reporter();
    case Format::kHtml:
      return detail::make_report_html_reporter();
    case Format::kTable:
    case Format::kTasks:
      break;
  }
  return nullptr;
}

}  // namespace pb::report
