// One reporter interface for every document the suite prints: a run
// ("preemptbench.run/1", run_document.h) and a merged report (table.h).
// Reporters only read a finished (or partial) document and write text to an
// injected stream; they hold no state between documents. Adding a format is
// one reporter and one line in make_reporter() (reporter.cc).
//
//   format    run                     report
//   table     terminal table          -
//   json      run.json (the schema)   report.json (what plot_report.py reads)
//   csv       run.csv                 report.csv
//   md        run.md                  report.md
//   html      -                       report.html (self-contained)
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>

#include "pb/report/run_document.h"
#include "pb/report/table.h"

namespace pb::report {

enum class Format { kTable, kJson, kCsv, kMarkdown, kHtml, kTasks };

// "table", "json", "csv", "md", "html", "tasks".
std::string_view to_string(Format f);
// The names each command accepts: `run --format` table, tasks, json, csv, md;
// `report --format` md (or markdown), csv, html. nullopt for anything else.
std::optional<Format> parse_run_format(std::string_view name);
std::optional<Format> parse_report_format(std::string_view name);
// Where `run` and `report` write a format in their output directory:
// "run.json", "run.csv", "run.md" ("" for the terminal table); "report.md",
// "report.csv", "report.html", "report.json".
std::string_view run_file_name(Format f);
std::string_view report_file_name(Format f);

template <typename Document>
class Reporter {
 public:
  virtual ~Reporter() = default;
  // Writes the whole document. Called once per document; `out` is left as
  // is on I/O errors (the caller checks it).
  virtual void report(const Document& doc, std::ostream& out) const = 0;
};

// The reporter of `f` for a Document (RunDocument or Report); nullptr when
// the table above has none.
template <typename Document>
std::unique_ptr<Reporter<Document>> make_reporter(Format f);
template <>
std::unique_ptr<Reporter<RunDocument>> make_reporter<RunDocument>(Format f);
template <>
std::unique_ptr<Reporter<Report>> make_reporter<Report>(Format f);

// The reporter's output as a string ("" when there is no such reporter).
template <typename Document>
std::string render(Format f, const Document& doc) {
  const auto reporter = make_reporter<Document>(f);
  if (reporter == nullptr) return "";
  std::ostringstream out;
  reporter->report(doc, out);
  return out.str();
}

}  // namespace pb::report
