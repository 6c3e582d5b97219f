// `run --format tasks`: every cell's tasks, one row each (the cell JSON's
// "tasks" array), so fairness and starvation show without reading JSON.
#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "pb/report/format.h"
#include "pb/report/run_summary.h"
#include "reporters.h"

namespace pb::report::detail {
namespace {

std::string class_label(const wl::TaskRecord& t) {
  if (t.sched_class == "fair") return t.nice == 0 ? "fair" : fmt::format("fair:{}", t.nice);
  return fmt::format("{}:{}", t.sched_class, t.priority);
}

std::string share(int64_t part, int64_t whole) {
  if (whole <= 0) return "-";
  return format_fixed(100.0 * static_cast<double>(part) / static_cast<double>(whole), 1) + "%";
}

class RunTasksReporter final : public Reporter<RunDocument> {
 public:
  void report(const RunDocument& doc, std::ostream& out) const override {
    out << "preemptbench run: " << doc.label << " (tasks)\n";
    static const std::vector<std::string> kHeaders = {
        "task",    "class",      "vcpu",      "ops",    "runtime ms", "cpu",
        "wait ms", "dispatches", "preempted", "p99 us", "max us",     "misses"};
    for (const wl::CellResult& c : doc.cells) {
      out << fmt::format("\n{} {} load {}{}{}\n", c.workload, c.model, format_load(c.load),
                         c.round > 0 ? fmt::format(" round {}", c.round) : "",
                         c.clock == "simulated" ? " (simulated)" : "");
      if (!c.error.empty()) {
        out << "  error: " << c.error << '\n';
        continue;
      }
      std::vector<std::vector<std::string>> rows;
      for (const wl::TaskRecord& t : c.tasks) {
        uint64_t preempted = 0;
        for (const auto& [point, n] : t.preemptions) preempted += n;
        rows.push_back({t.name, class_label(t), std::to_string(t.vcpu), std::to_string(t.ops),
                        format_fixed(static_cast<double>(t.runtime_ns) / 1e6, 1),
                        share(t.runtime_ns, c.duration_ns),
                        format_fixed(static_cast<double>(t.wait_ns) / 1e6, 1),
                        std::to_string(t.dispatches), std::to_string(preempted),
                        t.periodic ? format_us(static_cast<double>(t.latency.p99)) : "-",
                        t.periodic ? format_us(static_cast<double>(t.latency.max)) : "-",
                        std::to_string(t.deadline_misses)});
      }
      std::vector<size_t> width(kHeaders.size());
      for (size_t i = 0; i < kHeaders.size(); ++i) width[i] = kHeaders[i].size();
      for (const auto& r : rows) {
        for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
      }
      const auto line = [&](const std::vector<std::string>& cells) {
        std::string text;
        for (size_t i = 0; i < cells.size(); ++i) {
          if (i > 0) text += "  ";
          const std::string pad(width[i] - cells[i].size(), ' ');
          text += i < 2 ? cells[i] + pad : pad + cells[i];
        }
        while (!text.empty() && text.back() == ' ') text.pop_back();
        out << text << '\n';
      };
      line(kHeaders);
      for (const auto& r : rows) line(r);
    }
  }
};

}  // namespace

std::unique_ptr<Reporter<RunDocument>> make_run_tasks_reporter() {
  return std::make_unique<RunTasksReporter>();
}

}  // namespace pb::report::detail
