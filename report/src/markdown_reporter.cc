// The Markdown reporters. run.md: a header (machine, run, partial warning),
// a legend, then one GitHub-flavoured table per workload with its notes
// below it. report.md: the merged table, its notes, the plots (linked,
// beside the file) and the sources. Every free-text string is escaped
// (escape.h) so names cannot break a table.
#include <ostream>

#include <fmt/format.h>

#include "pb/report/escape.h"
#include "pb/report/run_summary.h"
#include "reporters.h"

namespace pb::report::detail {
namespace {

constexpr std::string_view kLegend =
    "Latency (us): wakeup latency of each cell's headline measuring task, release to running; "
    "count: its wakeups measured (\"-\": no samples, no figure); missed: releases already past "
    "when it ran. ops/s: background operations per second; "
    "vs none: ops/s relative to NONE at the same workload, load and round (the executive's own "
    "cost per model); work %: useful background compute per vCPU-second; preempt-off, "
    "irqs-off: longest window (us); delay p99: model-induced delay, the wakeup's reschedule "
    "request to the "
    "switch (us).";

class RunMarkdownReporter final : public Reporter<RunDocument> {
 public:
  void report(const RunDocument& doc, std::ostream& out) const override {
    const auto md = markdown_escape;
    out << "# preemptbench run: " << md(doc.label) << "\n\n";
    if (doc.partial) out << "> **" << md(partial_line(doc)) << "**\n\n";
    out << "- machine: " << md(machine_line(doc)) << '\n';
    out << "- run: " << md(config_line(doc)) << '\n';
    out << "- tool: "
        << md(fmt::format("{} {} ({}), {} to {} ({:.1f} s)", doc.tool_name, doc.tool_version,
                          doc.tool_git_commit, doc.started, doc.finished, doc.elapsed_s))
        << "\n\n";
    out << kLegend << '\n';

    const Summary s = summarize(doc);
    if (s.tables.empty()) out << "\nNo cell was measured.\n";
    for (const SummaryTable& t : s.tables) {
      out << "\n## " << md(t.workload) << "\n\n|";
      for (const auto& c : s.columns) out << ' ' << md(c.header) << " |";
      out << "\n|";
      for (const auto& c : s.columns) out << (c.numeric ? "---:|" : ":---|");
      out << '\n';
      for (const auto& row : t.rows) {
        out << '|';
        for (const auto& v : row) out << ' ' << md(v) << " |";
        out << '\n';
      }
      if (!t.notes.empty()) {
        out << "\nNotes:\n\n";
        for (const auto& n : t.notes) out << "- " << md(n) << '\n';
      }
    }
  }
};

void table_line(std::ostream& out, const std::vector<std::string>& cells) {
  out << '|';
  for (const auto& c : cells) out << ' ' << markdown_escape(c) << " |";
  out << '\n';
}

class ReportMarkdownReporter final : public Reporter<Report> {
 public:
  void report(const Report& r, std::ostream& out) const override {
    const auto md = markdown_escape;
    out << "# preemptbench report\n\n" << md(table_summary(r)) << "\n\n";
    const auto header = table_header(r.table);
    table_line(out, header);
    out << '|';
    for (size_t i = 0; i < header.size(); ++i) out << (i < 6 ? "---|" : "---:|");
    out << '\n';
    for (const Row& row : r.table.rows) table_line(out, table_cells(r.table, row));
    if (!r.table.notes.empty()) {
      out << "\n## Notes\n\n";
      for (const auto& n : r.table.notes) out << "- " << md(n) << '\n';
    }
    if (!r.plots.empty() || !r.plot_note.empty()) {
      out << "\n## Plots\n\n";
      if (r.plots.empty()) out << md(r.plot_note) << '\n';
      for (const Plot& p : r.plots) out << "![" << md(p.title) << "](" << p.file << ")\n\n";
    }
    out << "\n## Sources\n\n";
    for (const auto& s : r.sources) out << "- " << md(s) << '\n';
  }
};

}  // namespace

std::unique_ptr<Reporter<RunDocument>> make_run_markdown_reporter() {
  return std::make_unique<RunMarkdownReporter>();
}

std::unique_ptr<Reporter<Report>> make_report_markdown_reporter() {
  return std::make_unique<ReportMarkdownReporter>();
}

}  // namespace pb::report::detail
