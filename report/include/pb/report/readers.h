// Readers: result files of both tools and of rt-tests' cyclictest, turned
// into Records. Each reader is a pure function of the text; the file
// layer around them refuses what is not a regular file or is too large, and
// walks directories.
//
// Every reader is strict and total: malformed, truncated or hostile input
// (wrong types, huge or negative numbers, nesting deeper than kMaxJsonDepth,
// unknown schema versions, binary data) gives false and one message naming
// what is wrong — never an exception, a crash or a hang. Inputs are bounded
// (kMaxFileBytes), the JSON nesting is checked before parsing, and no size
// read from the input is ever used to allocate.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "pb/report/record.h"

namespace pb::report {

inline constexpr size_t kMaxFileBytes = size_t{256} << 20;  // 256 MiB
inline constexpr int kMaxJsonDepth = 64;
// A full sweep is models x workloads x loads x rounds, a few thousand cells.
inline constexpr size_t kMaxCellsPerFile = 10'000;

// What a text looks like, decided from its content (never its name).
enum class Detected {
  kRun,             // JSON with "schema": "preemptbench.run/..."
  kPbCyclic,        // JSON with "schema": "preemptbench.cyclic/..."
  kCyclictestJson,  // JSON with "file_version" and "thread", no "schema"
  kHistogramText,   // cyclictest -h text ("# Histogram" or histogram lines)
  kBrokenJson,      // starts like JSON but does not parse (truncated, or too deep)
  kOtherJson,       // a JSON document that is none of the above (sysinfo, a report)
  kOtherText,       // text that is not a histogram (a log)
  kBinary,          // NUL bytes or invalid UTF-8
};

// Classifies `text` cheaply (a JSON document is parsed only to read its
// top-level keys). Never fails: anything unrecognised is kOther*/kBinary.
Detected detect(std::string_view text);

// The four readers. `name` is the source path (messages start with it and
// Record::source is set to it); `label` is the machine label for
// histogram text, which carries none (ignored by the others). Each appends
// the file's records to *out only on success.
bool read_run(std::string_view text, const std::string& name, std::vector<Record>* out,
              std::string* error);
bool read_pb_cyclic(std::string_view text, const std::string& name, std::vector<Record>* out,
                    std::string* error);
bool read_cyclictest_json(std::string_view text, const std::string& name, std::vector<Record>* out,
                          std::string* error);
bool read_histogram_text(std::string_view text, const std::string& name, const std::string& label,
                         std::vector<Record>* out, std::string* error);

// Detects the format and reads. Anything not a result (kOther*, kBinary) is
// an error here.
bool read_result(std::string_view text, const std::string& name, const std::string& label,
                 std::vector<Record>* out, std::string* error);

// Reads a whole regular file of at most kMaxFileBytes into *text.
bool read_text_file(const std::string& path, std::string* text, std::string* error);

// Reads FILE and DIR arguments. A file named on the command line must be a
// result. A directory is walked recursively in sorted order; its *.json,
// *.txt and *.hist files are read, and a file found there that is plainly
// not a result (a sysinfo JSON, a log, a report's own report.json) is
// skipped with a note in *notes — but one that looks like a result and is
// malformed is an error. Histogram text is labelled with its path relative
// to the argument, extension dropped ("host1/cyclictest" under fleet/), or
// its file name's stem when named directly.
bool collect(const std::vector<std::string>& paths, std::vector<Record>* out,
             std::vector<std::string>* notes, std::string* error);

}  // namespace pb::report
