#include "reporter.h"

#include <sstream>

namespace pb::harness {

std::optional<Format> parse_format(std::string_view name) {
  if (name == "table") return Format::kTable;
  if (name == "json") return Format::kJson;
  if (name == "csv") return Format::kCsv;
  if (name == "md") return Format::kMarkdown;
  return std::nullopt;
}

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
  }
  return "?";
}

std::string_view file_name(Format f) {
  switch (f) {
    case Format::kTable:
      return "";
    case Format::kJson:
      return "run.json";
    case Format::kCsv:
      return "run.csv";
    case Format::kMarkdown:
      return "run.md";
  }
  return "";
}

std::unique_ptr<Reporter> make_reporter(Format f) {
  switch (f) {
    case Format::kTable:
      return make_table_reporter();
    case Format::kJson:
      return make_json_reporter();
    case Format::kCsv:
      return make_csv_reporter();
    case Format::kMarkdown:
      return make_markdown_reporter();
  }
  return nullptr;
}

std::string render(Format f, const RunDocument& doc) {
  std::ostringstream out;
  make_reporter(f)->report(doc, out);
  return out.str();
}

}  // namespace pb::harness
