// The merged table of `preemptbench report`: one row per machine label,
// kernel, host model, emulated model, workload and load level, holding every
// round (file or run round) of that cell, and the change of each row against
// a reference row.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "pb/histogram.h"
#include "pb/report/record.h"

namespace pb::report {

struct RowKey {
  std::string label;
  std::string kernel;
  std::string host_model;
  std::string model;
  std::string workload;
  std::optional<double> load;

  auto operator<=>(const RowKey&) const = default;
  bool operator==(const RowKey&) const = default;
};

RowKey key_of(const Record& m);

// Table order: label, kernel, host model, workload, load, then the emulated
// model in the kernel's order (none, voluntary, full, lazy, rt; host and
// others after).
bool table_order(const RowKey& a, const RowKey& b);

// One table row: its rounds and their aggregate.
struct Row {
  RowKey key;
  std::vector<size_t> rounds;  // indices into Table::records, in input order
  size_t failed = 0;           // rounds whose cell did not run (Record::error)
  std::string first_error;
  size_t interrupted = 0;  // rounds cut short by a signal (Record::interrupted)

  // Aggregate over the rounds that ran. Percentiles come from the pooled
  // histogram (all rounds' wakeups together) and are nullopt without a
  // histogram or beyond cyclictest's histogram range (>= ceiling_ns); max is
  // the largest of the rounds; missed is the sum (nullopt if any round cannot
  // say); throughput the mean over rounds.
  uint64_t count = 0;
  bool has_histogram = false;
  LatencyHistogram histogram;  // pooled, when has_histogram
  int64_t ceiling_ns = 0;      // smallest ceiling of the rounds (0: none)
  int64_t resolution_ns = 1;   // the rounds' common resolution (1 if they differ)
  int64_t min_ns = 0;
  int64_t max_ns = 0;
  double mean_ns = 0;
  std::optional<uint64_t> missed;
  std::optional<double> ops_per_s;
  // The spread over rounds: each round's own p99, with >= 2 rounds that have
  // one (median, smallest, largest); the pooled p99 above hides it.
  std::optional<double> p99_round_median, p99_round_min, p99_round_max;
  // The largest share of vCPU time (%) the host stole in one round (run
  // files); at or above kStolenMarkPct the row is marked in tables.
  std::optional<double> host_stolen_pct_max;

  std::optional<size_t> reference;  // index of its reference row in Table::rows
};

inline constexpr double kStolenMarkPct = 1.0;

// The value of `metric` for a row (as metric_value() for a record).
std::optional<double> metric_value(const Row& r, Metric metric);

// Which rows are the reference. Selects by one key field: "label" (the
// default: "--reference vm1"), "kernel", "host_model", "model" or "workload"
// ("--reference model=none").
struct ReferenceSelector {
  std::string field;
  std::string value;
};

// Parses "VALUE" or "FIELD=VALUE"; false with a message on an unknown field
// or an empty value.
bool parse_reference(const std::string& text, ReferenceSelector* out, std::string* error);

struct Table {
  std::vector<Record> records;
  std::vector<Row> rows;  // in table_order()
  std::optional<ReferenceSelector> reference;
  std::vector<std::string> notes;  // for the reader: clipped percentiles, rows with no reference...
};

// Groups records into rows and aggregates them. With a selector, each
// row's reference is the row that has the selected value and agrees with it
// on workload, load and emulated model (except the selected field itself),
// preferring the one that also agrees on the most of label, kernel and host
// model. Rows without a candidate keep reference = nullopt (noted). Fails
// (false, *error) only when the selector matches no row at all.
bool build_table(std::vector<Record> records, const std::optional<ReferenceSelector>& reference,
                 Table* out, std::string* error);

// Relative change of `row` against its reference for `metric`, in percent
// ((row - ref) / ref x 100); nullopt without a reference or a value, or
// when the reference is 0 and the row is not.
std::optional<double> change_pct(const Table& t, const Row& row, Metric metric);

// --- the report: the document `preemptbench report` writes ------------------------

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

// The schema of report.json: every row with its key, figures, reference and
// pooled histogram, and each round's p99 and throughput.
inline constexpr const char kReportSchema[] = "preemptbench.report/1";

// The human table (Markdown and HTML): the column titles and, per row, the
// cells as plain text (the reporter escapes them). Change columns appear only
// with a reference; a reference row shows "ref" there.
std::vector<std::string> table_header(const Table& t);
std::vector<std::string> table_cells(const Table& t, const Row& r);
// "4 result files, 3 rows; reference: label = vm1" — the line above the table.
std::string table_summary(const Report& r);

}  // namespace pb::report
