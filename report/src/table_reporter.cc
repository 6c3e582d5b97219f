// The terminal table of a run: the same figures as run.md (run_summary.h),
// one aligned block per workload, numbers right-aligned, notes indented below.
#include <algorithm>
#include <ostream>

#include "pb/report/run_summary.h"
#include "reporters.h"

namespace pb::report::detail {
namespace {

class RunTableReporter final : public Reporter<RunDocument> {
 public:
  void report(const RunDocument& doc, std::ostream& out) const override {
    out << "preemptbench run: " << doc.label << '\n';
    out << "machine: " << machine_line(doc) << '\n';
    out << "run:     " << config_line(doc) << '\n';
    if (doc.partial) out << partial_line(doc) << '\n';
    const Summary s = summarize(doc);
    if (s.tables.empty()) out << "\nno cell was measured\n";
    for (const SummaryTable& t : s.tables) {
      std::vector<size_t> width(s.columns.size());
      for (size_t i = 0; i < s.columns.size(); ++i) width[i] = s.columns[i].header.size();
      for (const auto& row : t.rows) {
        for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
          width[i] = std::max(width[i], row[i].size());
        }
      }
      const auto line = [&](const std::vector<std::string>& cells) {
        std::string text;
        for (size_t i = 0; i < cells.size() && i < width.size(); ++i) {
          if (i > 0) text += "  ";
          const std::string pad(width[i] - cells[i].size(), ' ');
          text += s.columns[i].numeric ? pad + cells[i] : cells[i] + pad;
        }
        while (!text.empty() && text.back() == ' ') text.pop_back();
        out << text << '\n';
      };
      out << "\nworkload " << t.workload << '\n';
      std::vector<std::string> headers;
      for (const auto& c : s.columns) headers.push_back(c.header);
      line(headers);
      for (const auto& row : t.rows) line(row);
      if (!t.notes.empty()) {
        out << "notes:\n";
        for (const auto& n : t.notes) out << "  " << n << '\n';
      }
    }
  }
};

}  // namespace

std::unique_ptr<Reporter<RunDocument>> make_run_table_reporter() {
  return std::make_unique<RunTableReporter>();
}

}  // namespace pb::report::detail
