#include "pb/scenarios/validate.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace pb::scenarios {

bool within(int64_t value, int64_t expected, const Tolerance& t) {
  const double allowed = std::max(t.relative * static_cast<double>(std::llabs(expected)),
                                  static_cast<double>(t.floor_ns));
  return std::fabs(static_cast<double>(value) - static_cast<double>(expected)) <= allowed;
}

std::optional<Statistic> parse_statistic(const std::string& name) {
  if (name == "p50") return Statistic::kP50;
  if (name == "p90") return Statistic::kP90;
  if (name == "p99") return Statistic::kP99;
  if (name == "max") return Statistic::kMax;
  return std::nullopt;
}

std::string to_string(Statistic s) {
  switch (s) {
    case Statistic::kP50:
      return "p50";
    case Statistic::kP90:
      return "p90";
    case Statistic::kP99:
      return "p99";
    case Statistic::kMax:
      return "max";
  }
  return "?";
}

int64_t pick(const wl::LatencySummary& s, Statistic st) {
  switch (st) {
    case Statistic::kP50:
      return s.p50;
    case Statistic::kP90:
      return s.p90;
    case Statistic::kP99:
      return s.p99;
    case Statistic::kMax:
      return s.max;
  }
  return 0;
}

int64_t analytic_worst_delay_ns(exec::Model m, int64_t section_ns, int64_t cond_resched_ns) {
  switch (m) {
    case exec::Model::kNone:
    case exec::Model::kVoluntary:
      return cond_resched_ns > 0 ? std::min(section_ns, cond_resched_ns) : section_ns;
    case exec::Model::kFull:
    case exec::Model::kLazy:
    case exec::Model::kRt:
      return 0;
  }
  return 0;
}

namespace {

std::string us(int64_t ns) { return fmt::format("{:.1f}", static_cast<double>(ns) / 1e3); }

std::string ratio(int64_t a, int64_t b) {
  return b > 0 ? fmt::format("{:.2f}", static_cast<double>(a) / static_cast<double>(b)) : "-";
}

nlohmann::ordered_json summary_json(const wl::LatencySummary& s) {
  nlohmann::ordered_json j;
  j["count"] = s.count;
  j["p50_ns"] = s.p50;
  j["p90_ns"] = s.p90;
  j["p99_ns"] = s.p99;
  j["max_ns"] = s.max;
  return j;
}

}  // namespace

void judge(const ValidateConfig& c, ValidateRow* row) {
  const Tolerance& t = c.tolerance;
  row->simulated_ok = row->simulated.count > 0 && within(row->simulated.max, row->analytic_ns, t);
  if (row->simulated.count == 0) {
    row->notes.push_back("simulated: no model-induced delay recorded");
  } else if (!row->simulated_ok) {
    row->notes.push_back(fmt::format("simulated max {} us strays from the analytic {} us",
                                     us(row->simulated.max), us(row->analytic_ns)));
  }
  if (!row->measured) {
    row->measured_ok.reset();
    return;
  }
  const int64_t expected = pick(row->simulated, c.statistic);
  const int64_t got = pick(*row->measured, c.statistic);
  row->measured_ok = row->measured->count > 0 && within(got, expected, t);
  if (row->measured->count == 0) {
    row->notes.push_back("measured: no model-induced delay recorded");
  } else if (!*row->measured_ok) {
    row->notes.push_back(fmt::format("measured {} {} us strays from the simulated {} us",
                                     to_string(c.statistic), us(got), us(expected)));
  }
}

bool ValidateResult::pass() const {
  if (partial || rows.empty()) return false;
  return std::all_of(rows.begin(), rows.end(), [](const ValidateRow& r) { return r.ok(); });
}

std::string render_validate_table(const ValidateResult& r) {
  const ValidateConfig& c = r.config;
  const std::string st = to_string(c.statistic);
  const bool real = c.clock == "real";
  std::string o;
  o += fmt::format(
      "validate: {} (load {}, {} s per cell, seed {}), model-induced delay of the measuring task;\n"
      "tolerance max({:.0f} %, {} us); simulated max vs analysis{}\n\n",
      c.workload, c.load, c.duration_s, c.seed, c.tolerance.relative * 100,
      us(c.tolerance.floor_ns),
      real ? fmt::format(", measured {} vs simulated {}", st, st) : " (simulated clock only)");
  o += fmt::format("{:<10} {:>9} {:>11} {:>10} {:>10}", "model", "section", "analysis", "sim " + st,
                   "sim max");
  if (real)
    o += fmt::format(" {:>10} {:>10} {:>9} {:>9}", "meas " + st, "meas max", "meas/sim",
                     "meas/sect");
  o += "  verdict\n";
  for (const ValidateRow& row : r.rows) {
    o += fmt::format("{:<10} {:>9} {:>11} {:>10} {:>10}", row.model,
                     fmt::format("{} us", row.section_us), us(row.analytic_ns),
                     us(pick(row.simulated, c.statistic)), us(row.simulated.max));
    if (real) {
      if (row.measured) {
        const int64_t m = pick(*row.measured, c.statistic);
        o += fmt::format(" {:>10} {:>10} {:>9} {:>9}", us(m), us(row.measured->max),
                         ratio(m, pick(row.simulated, c.statistic)),
                         ratio(m, row.section_us * 1000));
      } else {
        o += fmt::format(" {:>10} {:>10} {:>9} {:>9}", "-", "-", "-", "-");
      }
    }
    o += row.ok() ? "  ok" : "  STRAYS";
    for (const std::string& n : row.notes) o += "; " + n;
    o += "\n";
  }
  const size_t bad = static_cast<size_t>(
      std::count_if(r.rows.begin(), r.rows.end(), [](const ValidateRow& x) { return !x.ok(); }));
  o += fmt::format("\n{} of {} rows within tolerance{}\n", r.rows.size() - bad, r.rows.size(),
                   r.partial ? " (interrupted: partial)" : "");
  return o;
}

nlohmann::ordered_json to_json(const ValidateResult& r) {
  const ValidateConfig& c = r.config;
  nlohmann::ordered_json j;
  j["schema"] = "preemptbench.validate/1";
  j["clock"] = c.clock;
  j["machine"] = r.machine;
  j["started"] = r.started;
  j["finished"] = r.finished;
  j["partial"] = r.partial;
  auto& cfg = j["config"];
  cfg["workload"] = c.workload;
  cfg["sets"] = c.sets;
  cfg["models"] = c.models;
  cfg["sections_us"] = c.sections_us;
  cfg["load"] = c.load;
  cfg["duration_s"] = c.duration_s;
  cfg["cond_resched_us"] = c.cond_resched_us;
  cfg["statistic"] = to_string(c.statistic);
  cfg["tolerance"] = {{"relative", c.tolerance.relative}, {"floor_ns", c.tolerance.floor_ns}};
  cfg["seed"] = c.seed;
  auto& rows = j["rows"];
  rows = nlohmann::ordered_json::array();
  for (const ValidateRow& row : r.rows) {
    nlohmann::ordered_json x;
    x["model"] = row.model;
    x["section_us"] = row.section_us;
    x["analytic_worst_ns"] = row.analytic_ns;
    x["simulated"] = summary_json(row.simulated);
    x["measured"] = row.measured ? summary_json(*row.measured) : nlohmann::ordered_json();
    x["simulated_ok"] = row.simulated_ok;
    x["measured_ok"] =
        row.measured_ok ? nlohmann::ordered_json(*row.measured_ok) : nlohmann::ordered_json();
    x["notes"] = row.notes;
    rows.push_back(std::move(x));
  }
  j["pass"] = r.pass();
  return j;
}

}  // namespace pb::scenarios
