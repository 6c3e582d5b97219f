// The CSV reporters, for spreadsheets and scripts; RFC 4180 quoting
// (escape.h). run.csv: one row per cell (its headline measuring task), every
// figure in its base unit (ns, per second, fraction) at full precision; the
// JSON holds everything else; a latency figure of no samples (count 0) is
// empty. report.csv: one line per row, numbers raw (ns,
// counts, ops/s); an empty field is "not known" (no histogram, a percentile
// beyond cyclictest's -h range, missed periods from cyclictest), and
// histogram_limit_ns says where such a range ends.
#include <cmath>
#include <ostream>
#include <string_view>

#include <fmt/format.h>

#include "pb/report/escape.h"
#include "pb/report/format.h"
#include "pb/report/run_summary.h"
#include "reporters.h"

namespace pb::report::detail {
namespace {

constexpr std::string_view kRunHeader =
    "label,workload,model,load,round,clock,duration_ns,host_fifo,task,count,missed,min_ns,p50_ns,"
    "p90_ns,p99_ns,p999_ns,max_ns,model_delay_p50_ns,model_delay_p99_ns,model_delay_max_ns,ops,"
    "ops_per_s,ops_vs_none,work_fraction,ctx_switches_per_s,preemptions_per_s,preemptoff_max_ns,"
    "preemptoff_where,irqsoff_max_ns,irqsoff_where,watchdog_tripped,error";

// Shortest text that reads back as the same double; empty when not finite.
std::string real(double v) { return std::isfinite(v) ? fmt::format("{}", v) : ""; }

class RunCsvReporter final : public Reporter<RunDocument> {
 public:
  void report(const RunDocument& doc, std::ostream& out) const override {
    const auto field = csv_field;
    out << kRunHeader << '\n';
    const auto rel = throughput_vs_none(doc.cells);
    static const wl::MeasuredTask kNothing{};
    for (size_t i = 0; i < doc.cells.size(); ++i) {
      const wl::CellResult& c = doc.cells[i];
      const wl::MeasuredTask* h = headline(c);
      const wl::MeasuredTask& m = h ? *h : kNothing;
      const wl::LatencySummary& l = m.latency;
      const wl::Throughput& t = c.throughput;
      // A figure of no samples is empty, not 0.
      const auto lat = [](const wl::LatencySummary& s, int64_t ns) {
        return s.count > 0 ? fmt::format("{}", ns) : std::string();
      };
      const wl::LatencySummary& d = m.model_delay;
      out << fmt::format(
          "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},"
          "{},{},{}\n",
          field(doc.label), field(c.workload), field(c.model), real(c.load), c.round,
          field(c.clock), c.duration_ns, c.host_fifo ? 1 : 0, field(m.name), l.count, l.missed,
          lat(l, l.min), lat(l, l.p50), lat(l, l.p90), lat(l, l.p99), lat(l, l.p999), lat(l, l.max),
          lat(d, d.p50), lat(d, d.p99), lat(d, d.max), t.ops, real(t.ops_per_s),
          rel[i] ? real(*rel[i]) : "", real(t.work_fraction), real(t.ctx_switches_per_s),
          real(t.preemptions_per_s), c.windows.preemptoff_max_ns, field(c.windows.preemptoff_where),
          c.windows.irqsoff_max_ns, field(c.windows.irqsoff_where), c.watchdog_tripped ? 1 : 0,
          field(c.error));
    }
  }
};

std::string num(std::optional<double> v, bool integer) {
  if (!v) return "";
  return integer ? fmt::format("{:.0f}", *v) : fmt::format("{:.6g}", *v);
}

class ReportCsvReporter final : public Reporter<Report> {
 public:
  void report(const Report& r, std::ostream& out) const override {
    const auto csv = csv_field;
    const Table& t = r.table;
    out << "label,kernel,host_model,model,workload,load,rounds,failed_rounds,wakeups,min_ns,p50_ns,"
           "p90_ns,p99_ns,p999_ns,p9999_ns,max_ns,mean_ns,missed,ops_per_s,histogram_limit_ns,"
           "reference_row,p99_change_pct,max_change_pct,throughput_change_pct,p99_round_median_ns,"
           "p99_round_min_ns,p99_round_max_ns,host_stolen_pct_max\n";
    for (const Row& row : t.rows) {
      const RowKey& k = row.key;
      out << csv(k.label) << ',' << csv(k.kernel) << ',' << csv(k.host_model) << ',' << csv(k.model)
          << ',' << csv(k.workload) << ',' << format_load(k.load) << ',' << row.rounds.size() << ','
          << row.failed << ',' << row.count;
      for (const Metric m : {Metric::kMin, Metric::kP50, Metric::kP90, Metric::kP99, Metric::kP999,
                             Metric::kP9999, Metric::kMax}) {
        out << ',' << num(metric_value(row, m), true);
      }
      out << ',' << num(metric_value(row, Metric::kMean), false);
      out << ',' << num(metric_value(row, Metric::kMissed), true);
      out << ',' << num(metric_value(row, Metric::kThroughput), false);
      out << ',' << (row.ceiling_ns > 0 ? fmt::format("{}", row.ceiling_ns) : "");
      // 1-based data line of the reference row.
      out << ',' << (row.reference ? fmt::format("{}", *row.reference + 1) : "");
      for (const Metric m : {Metric::kP99, Metric::kMax, Metric::kThroughput}) {
        const auto c = change_pct(t, row, m);
        out << ',' << (c ? fmt::format("{:.2f}", *c) : "");
      }
      out << ',' << num(row.p99_round_median, true) << ',' << num(row.p99_round_min, true) << ','
          << num(row.p99_round_max, true) << ',' << num(row.host_stolen_pct_max, false);
      out << '\n';
    }
  }
};

}  // namespace

std::unique_ptr<Reporter<RunDocument>> make_run_csv_reporter() {
  return std::make_unique<RunCsvReporter>();
}

std::unique_ptr<Reporter<Report>> make_report_csv_reporter() {
  return std::make_unique<ReportCsvReporter>();
}

}  // namespace pb::report::detail
