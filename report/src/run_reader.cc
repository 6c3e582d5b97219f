// "preemptbench.run/1" documents, read by the document's own strict reader
// (run_document.h); this file only maps cells to Records.
#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "pb/report/readers.h"
#include "pb/report/run_document.h"
#include "reader_util.h"

namespace pb::report {

using detail::ReadError;
using json = nlohmann::json;

namespace {

std::string machine_string(const json& machine, const char* object, const char* key) {
  if (!machine.is_object()) return "";
  const auto o = machine.find(object);
  if (o == machine.end() || !o->is_object()) return "";
  const auto v = o->find(key);
  return v != o->end() && v->is_string() ? v->get<std::string>() : "";
}

std::string hostname(const json& machine) {
  if (!machine.is_object()) return "";
  const auto v = machine.find("hostname");
  return v != machine.end() && v->is_string() ? v->get<std::string>() : "";
}

}  // namespace

bool read_run(std::string_view text, const std::string& name, std::vector<Record>* out,
              std::string* error) {
  try {
    const json j = detail::parse_json(text);
    // Each cell becomes ~100 KiB in memory (histograms): bound them before
    // the document is read, so a hostile file cannot exhaust memory.
    if (j.is_object()) {
      const auto cells = j.find("cells");
      if (cells != j.end() && cells->is_array() && cells->size() > kMaxCellsPerFile) {
        detail::fail("cells", fmt::format("{} cells, more than the {} a result file may have",
                                          cells->size(), kMaxCellsPerFile));
      }
    }
    RunDocument doc;
    std::string why;
    if (!from_json(j, &doc, &why)) throw ReadError(why);

    std::string label = doc.label;
    if (label.empty()) label = hostname(doc.machine);
    if (label.empty()) label = "unknown";
    std::string kernel = machine_string(doc.machine, "kernel", "release");
    if (kernel.empty()) kernel = "unknown";
    const std::string host_model = detail::host_model_from_machine(doc.machine);
    const std::string tool =
        doc.tool_version.empty() ? doc.tool_name : doc.tool_name + " " + doc.tool_version;

    const std::string partial =
        doc.partial ? fmt::format("a partial run (stopped by {} after {} of {} cells)",
                                  doc.stopped_by, doc.cells.size(), doc.cells_planned)
                    : "";
    std::vector<Record> ms;
    for (size_t i = 0; i < doc.cells.size(); ++i) {
      const wl::CellResult& c = doc.cells[i];
      const std::string where = fmt::format("cells[{}]", i);
      Record m;
      m.label = label;
      m.kernel = kernel;
      m.host_model = host_model;
      m.model = c.clock == "simulated" ? c.model + " (simulated)" : c.model;
      m.workload = c.workload;
      m.load = c.load;
      m.source = name;
      m.format = SourceFormat::kRun;
      m.tool = tool;
      m.round = c.round;
      m.partial = partial;
      m.interrupted = cell_interrupted(c);
      m.duration_s = doc.config.duration_s;
      if (const auto d = doc.workloads.find(c.workload); d != doc.workloads.end()) {
        m.workload_description = d->dump();
      }
      if (!c.error.empty()) {
        m.error = c.error;
        ms.push_back(std::move(m));
        continue;
      }
      const wl::MeasuredTask* head = headline(c);
      if (head != nullptr) {
        const LatencyHistogram& h = head->latency_hist;
        if (h.count() > kMaxSamples) detail::fail(where, "implausible sample count");
        if (h.max() > kMaxLatencyNs) {
          detail::fail(where + ".histogram.max", fmt::format("{} ns is more than a day", h.max()));
        }
        m.has_histogram = h.count() > 0;
        m.histogram = h;
        m.count = h.count();
        m.min_ns = h.min();
        m.max_ns = h.max();
        m.mean_ns = h.mean();
        m.missed = head->latency.missed;
      } else {
        m.missed = 0;
      }
      if (const auto st = c.counters.find("host_stolen_ns");
          st != c.counters.end() && c.duration_ns > 0) {
        m.host_stolen_pct = static_cast<double>(st->second) * 100.0 /
                            (static_cast<double>(c.duration_ns) * std::max(1, doc.config.vcpus));
      }
      if (std::isfinite(c.throughput.ops_per_s)) {
        if (c.throughput.ops_per_s < 0) {
          detail::fail(where + ".throughput.ops_per_s", "negative throughput");
        }
        m.ops_per_s = c.throughput.ops_per_s;
      }
      ms.push_back(std::move(m));
    }
    for (auto& m : ms) out->push_back(std::move(m));
    return true;
  } catch (const std::exception& e) {
    if (error != nullptr) *error = name + ": " + e.what();
    return false;
  }
}

}  // namespace pb::report
