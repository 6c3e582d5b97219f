// run.md: a header (machine, run, partial warning), a legend, then one
// GitHub-flavoured Markdown table per workload with its notes below it.
// Every free-text string is escaped so names cannot break the table.
#include <fmt/format.h>

#include "reporter.h"
#include "summary.h"

namespace pb::harness {
namespace {

// Backslash-escapes Markdown's inline punctuation and the table separator;
// line breaks become spaces.
std::string md(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '<':
      case '>':
      case '|':
      case '#':
        out += '\\';
        out += c;
        break;
      case '\n':
      case '\r':
        out += ' ';
        break;
      default:
        out += c;
    }
  }
  return out;
}

constexpr std::string_view kLegend =
    "Latency (us): wakeup latency of each cell's headline measuring task, release to running; "
    "missed: releases already past when it ran. ops/s: background operations per second; "
    "vs none: ops/s relative to NONE at the same workload, load and round (the executive's own "
    "cost per model); work %: useful background compute per vCPU-second; preempt-off, "
    "irqs-off: longest window (us); delay p99: model-induced delay, the wakeup's reschedule request to the "
    "switch (us).";

class MarkdownReporter final : public Reporter {
 public:
  void report(const RunDocument& doc, std::ostream& out) const override {
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

}  // namespace

std::unique_ptr<Reporter> make_markdown_reporter() { return std::make_unique<MarkdownReporter>(); }

}  // namespace pb::harness
