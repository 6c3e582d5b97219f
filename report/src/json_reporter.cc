// The JSON reporters. run.json is the "preemptbench.run/1" document itself
// (run_document.h). report.json ("preemptbench.report/1") is the merged
// table as data: what plot_report.py draws from, and what a script can read
// instead of the CSV.
#include <ostream>

#include <nlohmann/json.hpp>

#include "reporters.h"

namespace pb::report::detail {
namespace {

using ojson = nlohmann::ordered_json;

class RunJsonReporter final : public Reporter<RunDocument> {
 public:
  void report(const RunDocument& doc, std::ostream& out) const override {
    out << dump_json(to_json(doc));
  }
};

ojson opt(std::optional<double> v) { return v ? ojson(*v) : ojson(nullptr); }

class ReportJsonReporter final : public Reporter<Report> {
 public:
  void report(const Report& r, std::ostream& out) const override {
    const Table& t = r.table;
    ojson doc;
    doc["schema"] = kReportSchema;
    doc["reference"] = t.reference
                           ? ojson{{"field", t.reference->field}, {"value", t.reference->value}}
                           : ojson(nullptr);
    ojson rows = ojson::array();
    for (const Row& row : t.rows) {
      const RowKey& k = row.key;
      ojson j;
      j["label"] = k.label;
      j["kernel"] = k.kernel;
      j["host_model"] = k.host_model;
      j["model"] = k.model;
      j["workload"] = k.workload;
      j["load"] = opt(k.load);
      j["rounds"] = row.rounds.size();
      j["failed_rounds"] = row.failed;
      j["count"] = row.count;
      j["min_ns"] = opt(metric_value(row, Metric::kMin));
      j["p50_ns"] = opt(metric_value(row, Metric::kP50));
      j["p90_ns"] = opt(metric_value(row, Metric::kP90));
      j["p99_ns"] = opt(metric_value(row, Metric::kP99));
      j["p999_ns"] = opt(metric_value(row, Metric::kP999));
      j["p9999_ns"] = opt(metric_value(row, Metric::kP9999));
      j["max_ns"] = opt(metric_value(row, Metric::kMax));
      j["mean_ns"] = opt(metric_value(row, Metric::kMean));
      j["missed"] = opt(metric_value(row, Metric::kMissed));
      j["ops_per_s"] = opt(metric_value(row, Metric::kThroughput));
      j["histogram_limit_ns"] = row.ceiling_ns > 0 ? ojson(row.ceiling_ns) : ojson(nullptr);
      j["reference"] = row.reference ? ojson(*row.reference) : ojson(nullptr);
      j["p99_round_median_ns"] = opt(row.p99_round_median);
      j["p99_round_min_ns"] = opt(row.p99_round_min);
      j["p99_round_max_ns"] = opt(row.p99_round_max);
      j["host_stolen_pct_max"] = opt(row.host_stolen_pct_max);
      ojson points = ojson::array();
      for (const size_t i : row.rounds) {
        const Record& m = t.records[i];
        if (!m.error.empty()) continue;
        points.push_back(ojson{{"source", m.source},
                               {"round", m.round},
                               {"p50_ns", opt(metric_value(m, Metric::kP50))},
                               {"p99_ns", opt(metric_value(m, Metric::kP99))},
                               {"max_ns", opt(metric_value(m, Metric::kMax))},
                               {"ops_per_s", opt(metric_value(m, Metric::kThroughput))},
                               {"host_stolen_pct", opt(m.host_stolen_pct)}});
      }
      j["rounds_detail"] = std::move(points);
      j["histogram"] =
          row.has_histogram ? ojson::parse(pb::to_json(row.histogram).dump()) : ojson(nullptr);
      rows.push_back(std::move(j));
    }
    doc["rows"] = std::move(rows);
    doc["notes"] = t.notes;
    doc["sources"] = r.sources;
    out << doc.dump(1, ' ', false, ojson::error_handler_t::replace) << "\n";
  }
};

}  // namespace

std::unique_ptr<Reporter<RunDocument>> make_run_json_reporter() {
  return std::make_unique<RunJsonReporter>();
}

std::unique_ptr<Reporter<Report>> make_report_json_reporter() {
  return std::make_unique<ReportJsonReporter>();
}

}  // namespace pb::report::detail
