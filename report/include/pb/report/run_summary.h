// What the human-readable reporters of a run (terminal table, Markdown)
// print, built once from a RunDocument: one table per workload, one row per cell, and the
// notes and errors that belong under it. Pure functions of the document.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pb/report/run_document.h"

namespace pb::report {

struct SummaryColumn {
  std::string header;
  bool numeric = true;  // right-aligned
};

struct SummaryTable {
  std::string workload;
  std::vector<std::vector<std::string>> rows;  // one per cell, in document order
  std::vector<std::string> notes;              // "full, load 0.5: <note>"
};

struct Summary {
  std::vector<SummaryColumn> columns;  // the round column only with more than one round
  std::vector<SummaryTable> tables;    // one per workload, in order of first appearance
};

Summary summarize(const RunDocument& doc);

// The executive's own cost stays visible: each cell's ops/s relative to the
// NONE cell of the same workload, load and round; nullopt when there is no
// such cell, either cell failed, or NONE's figure is zero or not finite.
std::vector<std::optional<double>> throughput_vs_none(const std::vector<wl::CellResult>& cells);

// One-line descriptions of the machine and the run, for report headers.
std::string machine_line(const RunDocument& doc);
std::string config_line(const RunDocument& doc);
// "" for a complete run, else why it is partial and how much ran.
std::string partial_line(const RunDocument& doc);

}  // namespace pb::report
