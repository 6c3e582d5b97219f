// One reporter interface for every output format of `preemptbench run`.
// Reporters only read a finished (or partial) RunDocument and write text to
// an injected stream; they hold no state between documents. Adding a format
// is adding one file and one line in make_reporter().
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "run_document.h"

namespace pb::harness {

enum class Format { kTable, kJson, kCsv, kMarkdown };

// "table", "json", "csv", "md"; nullopt for anything else.
std::optional<Format> parse_format(std::string_view name);
std::string_view to_string(Format f);
// The file name `run` writes this format to in the output directory
// ("run.json", "run.csv", "run.md"; "" for the terminal table).
std::string_view file_name(Format f);

class Reporter {
 public:
  virtual ~Reporter() = default;
  // Writes the whole document. Called once per document; `out` is left as
  // is on I/O errors (the caller checks it).
  virtual void report(const RunDocument& doc, std::ostream& out) const = 0;
};

std::unique_ptr<Reporter> make_table_reporter();     // table_reporter.cc
std::unique_ptr<Reporter> make_json_reporter();      // json_reporter.cc
std::unique_ptr<Reporter> make_csv_reporter();       // csv_reporter.cc
std::unique_ptr<Reporter> make_markdown_reporter();  // markdown_reporter.cc
std::unique_ptr<Reporter> make_reporter(Format f);

// The reporter's output as a string.
std::string render(Format f, const RunDocument& doc);

}  // namespace pb::harness
