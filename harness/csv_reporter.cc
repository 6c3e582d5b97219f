// One row per cell (its headline measuring task), every figure in its base
// unit (ns, per second, fraction) at full precision, RFC 4180 quoting. For
// spreadsheets and scripts; the JSON holds everything else.
#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "reporter.h"
#include "summary.h"

namespace pb::harness {
namespace {

constexpr std::string_view kHeader =
    "label,workload,model,load,round,clock,duration_ns,host_fifo,task,count,missed,min_ns,p50_ns,"
    "p90_ns,p99_ns,p999_ns,max_ns,model_delay_p50_ns,model_delay_p99_ns,model_delay_max_ns,ops,"
    "ops_per_s,ops_vs_none,work_fraction,ctx_switches_per_s,preemptions_per_s,preemptoff_max_ns,"
    "preemptoff_where,irqsoff_max_ns,irqsoff_where,watchdog_tripped,error";

// Quoted when it holds a separator, a quote or a line break; quotes doubled.
std::string field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

// Shortest text that reads back as the same double; empty when not finite.
std::string real(double v) { return std::isfinite(v) ? fmt::format("{}", v) : ""; }

class CsvReporter final : public Reporter {
 public:
  void report(const RunDocument& doc, std::ostream& out) const override {
    out << kHeader << '\n';
    const auto rel = throughput_vs_none(doc.cells);
    static const wl::MeasuredTask kNothing{};
    for (size_t i = 0; i < doc.cells.size(); ++i) {
      const wl::CellResult& c = doc.cells[i];
      const wl::MeasuredTask* h = headline(c);
      const wl::MeasuredTask& m = h ? *h : kNothing;
      const wl::LatencySummary& l = m.latency;
      const wl::Throughput& t = c.throughput;
      out << fmt::format(
          "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},"
          "{},{},{}\n",
          field(doc.label), field(c.workload), field(c.model), real(c.load), c.round,
          field(c.clock), c.duration_ns, c.host_fifo ? 1 : 0, field(m.name), l.count, l.missed,
          l.min, l.p50, l.p90, l.p99, l.p999, l.max, m.model_delay.p50, m.model_delay.p99,
          m.model_delay.max, t.ops, real(t.ops_per_s), rel[i] ? real(*rel[i]) : "",
          real(t.work_fraction), real(t.ctx_switches_per_s), real(t.preemptions_per_s),
          c.windows.preemptoff_max_ns, field(c.windows.preemptoff_where), c.windows.irqsoff_max_ns,
          field(c.windows.irqsoff_where), c.watchdog_tripped ? 1 : 0, field(c.error));
    }
  }
};

}  // namespace

std::unique_ptr<Reporter> make_csv_reporter() { return std::make_unique<CsvReporter>(); }

}  // namespace pb::harness
