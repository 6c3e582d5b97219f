// report.md: the table, notes, plots (linked, beside the file) and sources.
#include <ostream>

#include "pb/report/reporter.h"

namespace pb::report {

namespace {

std::string md(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '|' || c == '\\' || c == '*' || c == '_' || c == '`' || c == '<' || c == '[' ||
        c == ']') {
      out += '\\';
      out += c;
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

void line(std::ostream& out, const std::vector<std::string>& cells) {
  out << '|';
  for (const auto& c : cells) out << ' ' << md(c) << " |";
  out << '\n';
}

class MarkdownReporter : public ReportReporter {
 public:
  void report(const Report& r, std::ostream& out) const override {
    out << "# preemptbench report\n\n" << md(table_summary(r)) << "\n\n";
    const auto header = table_header(r.table);
    line(out, header);
    out << '|';
    for (size_t i = 0; i < header.size(); ++i) out << (i < 6 ? "---|" : "---:|");
    out << '\n';
    for (const Row& row : r.table.rows) line(out, table_cells(r.table, row));
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

std::unique_ptr<ReportReporter> make_markdown_report_reporter() {
  return std::make_unique<MarkdownReporter>();
}

}  // namespace pb::report
