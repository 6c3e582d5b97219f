// report.csv: one line per row, numbers raw (ns, counts, ops/s) for
// spreadsheets and scripts. An empty field is "not known" (no histogram, a
// percentile beyond cyclictest's -h range, missed periods from cyclictest);
// histogram_limit_ns says where such a range ends. RFC 4180 quoting.
#include <ostream>

#include <fmt/format.h>

#include "pb/report/reporter.h"

namespace pb::report {

namespace {

std::string csv(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

std::string num(std::optional<double> v, bool integer) {
  if (!v) return "";
  return integer ? fmt::format("{:.0f}", *v) : fmt::format("{:.6g}", *v);
}

class CsvReporter : public ReportReporter {
 public:
  void report(const Report& r, std::ostream& out) const override {
    const Table& t = r.table;
    out << "label,kernel,host_model,model,workload,load,rounds,failed_rounds,wakeups,min_ns,p50_ns,"
           "p90_ns,p99_ns,p999_ns,p9999_ns,max_ns,mean_ns,missed,ops_per_s,histogram_limit_ns,"
           "reference_row,p99_change_pct,max_change_pct,throughput_change_pct\n";
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
      out << '\n';
    }
  }
};

}  // namespace

std::unique_ptr<ReportReporter> make_csv_report_reporter() {
  return std::make_unique<CsvReporter>();
}

}  // namespace pb::report
