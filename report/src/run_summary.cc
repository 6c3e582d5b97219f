#include "pb/report/run_summary.h"

#include <cmath>
#include <map>

#include <fmt/format.h>

#include "pb/report/format.h"

namespace pb::report {

using nlohmann::json;

std::vector<std::optional<double>> throughput_vs_none(const std::vector<wl::CellResult>& cells) {
  std::vector<std::optional<double>> out(cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    const wl::CellResult& c = cells[i];
    if (!c.error.empty()) continue;
    for (const wl::CellResult& base : cells) {
      if (base.model != "none" || base.workload != c.workload || base.load != c.load ||
          base.round != c.round || !base.error.empty()) {
        continue;
      }
      const double b = base.throughput.ops_per_s;
      if (std::isfinite(b) && b > 0 && std::isfinite(c.throughput.ops_per_s)) {
        out[i] = c.throughput.ops_per_s / b;
      }
      break;
    }
  }
  return out;
}

namespace {

// A string field of the machine fingerprint, or "?" when it is missing.
std::string machine_field(const json& m, const char* section, const char* key) {
  if (!m.is_object()) return "?";
  const auto s = m.find(section);
  if (s == m.end()) return "?";
  if (key == nullptr) return s->is_string() ? s->get<std::string>() : "?";
  if (!s->is_object()) return "?";
  const auto v = s->find(key);
  if (v == s->end()) return "?";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_integer() || v->is_boolean()) return v->dump();
  return "?";
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

std::string machine_line(const RunDocument& doc) {
  const json& m = doc.machine;
  std::string preemption = machine_field(m, "preemption", "model");
  if (preemption == "unknown") {
    const std::string boot = machine_field(m, "preemption", "boot_default");
    if (boot != "?" && boot != "unknown" && !boot.empty()) {
      preemption = fmt::format("unknown at run time (boot default {})", boot);
    }
  }
  std::string virt = machine_field(m, "virtualization", "hypervisor_type");
  if (virt.empty() || virt == "?") {
    virt = machine_field(m, "virtualization", "hypervisor_flag") == "present" ? "hypervisor"
                                                                              : "none seen";
  }
  return fmt::format("{}: {} ({} CPUs), kernel {}, host preemption {}, virtualization {}",
                     machine_field(m, "hostname", nullptr), machine_field(m, "cpu", "model"),
                     machine_field(m, "cpu", "online_count"), machine_field(m, "kernel", "release"),
                     preemption, virt);
}

std::string config_line(const RunDocument& doc) {
  const RunConfig& c = doc.config;
  std::vector<std::string> loads;
  for (double l : c.loads) loads.push_back(format_load(l));
  return fmt::format(
      "models {}; loads {}; {} s per cell; {} vCPU(s), HZ {}; seed {}; {} round(s); {} clock; "
      "host SCHED_FIFO {}",
      join(c.models, ","), join(loads, ","), format_fixed(c.duration_s, 1), c.vcpus, c.hz, c.seed,
      c.rounds, doc.clock, c.use_fifo ? "when permitted" : "off");
}

std::string partial_line(const RunDocument& doc) {
  if (!doc.partial) return "";
  return fmt::format("PARTIAL: stopped by {} after {} of {} cells", doc.stopped_by,
                     doc.cells.size(), doc.cells_planned);
}

Summary summarize(const RunDocument& doc) {
  Summary s;
  bool rounds = doc.config.rounds > 1;
  for (const auto& c : doc.cells) rounds = rounds || c.round != 0;
  s.columns.push_back({"load", true});
  s.columns.push_back({"model", false});
  if (rounds) s.columns.push_back({"round", true});
  for (const char* h :
       {"count", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us", "missed", "ops/s", "vs none",
        "work %", "ctx/s", "preempt/s", "preempt-off us", "irqs-off us", "delay p99 us"}) {
    s.columns.push_back({h, true});
  }

  const auto rel = throughput_vs_none(doc.cells);
  std::map<std::string, size_t> table_of;
  for (size_t i = 0; i < doc.cells.size(); ++i) {
    const wl::CellResult& c = doc.cells[i];
    auto [it, added] = table_of.try_emplace(c.workload, s.tables.size());
    if (added) s.tables.push_back({c.workload, {}, {}});
    SummaryTable& t = s.tables[it->second];

    std::vector<std::string> row{format_load(c.load), c.model};
    if (rounds) row.push_back(std::to_string(c.round));
    const std::string who =
        rounds ? fmt::format("{}, load {}, round {}", c.model, format_load(c.load), c.round)
               : fmt::format("{}, load {}", c.model, format_load(c.load));
    const wl::MeasuredTask* head = headline(c);
    if (!c.error.empty() || head == nullptr) {
      row.push_back(c.error.empty() ? "n/a" : "error");
      while (row.size() < s.columns.size()) row.push_back("-");
      t.notes.push_back(who + ": " + (c.error.empty() ? "no measuring task" : "error: " + c.error));
    } else {
      const wl::LatencySummary& l = head->latency;
      const wl::Throughput& tp = c.throughput;
      // No samples, no percentiles: "-", never a 0 that reads as perfect.
      const auto lat = [&](int64_t ns) { return l.count > 0 ? format_us(ns) : "-"; };
      row.push_back(std::to_string(l.count));
      row.push_back(lat(l.p50));
      row.push_back(lat(l.p90));
      row.push_back(lat(l.p99));
      row.push_back(lat(l.p999));
      row.push_back(lat(l.max));
      row.push_back(std::to_string(l.missed));
      row.push_back(format_fixed(tp.ops_per_s, 0));
      row.push_back(rel[i] ? format_fixed(*rel[i], 2) : "-");
      row.push_back(format_fixed(tp.work_fraction * 100.0, 1));
      row.push_back(format_fixed(tp.ctx_switches_per_s, 0));
      row.push_back(format_fixed(tp.preemptions_per_s, 0));
      row.push_back(format_us(c.windows.preemptoff_max_ns));
      row.push_back(format_us(c.windows.irqsoff_max_ns));
      row.push_back(head->model_delay.count > 0 ? format_us(head->model_delay.p99) : "-");
    }
    if (c.watchdog_tripped) t.notes.push_back(who + ": watchdog tripped");
    for (const auto& n : c.notes) t.notes.push_back(who + ": " + n);
    t.rows.push_back(std::move(row));
  }
  return s;
}

}  // namespace pb::report
