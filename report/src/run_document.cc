#include "pb/report/run_document.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "pb/executive/policy.h"
#include "pb/histogram.h"

namespace pb::report {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

const wl::MeasuredTask* headline(const wl::CellResult& c) {
  return c.measured.empty() ? nullptr : &c.measured.front();
}

bool cell_interrupted(const wl::CellResult& c) {
  for (const std::string& n : c.notes) {
    if (n.rfind("interrupted", 0) == 0) return true;
  }
  return false;
}

// --- writing -------------------------------------------------------------------

namespace {

// nlohmann writes NaN and infinities as null anyway; saying so here keeps the
// contract visible.
ojson number(double v) { return std::isfinite(v) ? ojson(v) : ojson(nullptr); }

ojson summary_json(const wl::LatencySummary& s) {
  return ojson{{"min", s.min},   {"p50", s.p50}, {"p90", s.p90},     {"p99", s.p99},
               {"p999", s.p999}, {"max", s.max}, {"count", s.count}, {"missed", s.missed}};
}

ojson histogram_json(const LatencyHistogram& h) {
  const json j = pb::to_json(h);
  // In the order a reader scans: unit and totals first, buckets last.
  ojson o;
  for (const char* k : {"unit", "count", "overflow", "min", "max", "sum", "buckets"})
    o[k] = j.at(k);
  return o;
}

ojson measured_json(const wl::MeasuredTask& m) {
  return ojson{{"name", m.name},
               {"sched", m.sched},
               {"vcpu", m.vcpu},
               {"period_ns", m.period_ns},
               {"periods", m.periods},
               {"latency_ns", summary_json(m.latency)},
               {"model_delay_ns", summary_json(m.model_delay)},
               {"histogram", histogram_json(m.latency_hist)},
               {"model_delay_histogram", histogram_json(m.model_delay_hist)}};
}

ojson task_json(const wl::TaskRecord& t) {
  ojson by_point = ojson::object();
  for (const auto& [point, n] : t.preemptions) by_point[point] = n;
  ojson o{{"name", t.name},
          {"class", t.sched_class},
          {"priority", t.priority},
          {"nice", t.nice},
          {"vcpu", t.vcpu},
          {"ops", t.ops},
          {"runtime_ns", t.runtime_ns},
          {"wait_ns", t.wait_ns},
          {"dispatches", t.dispatches},
          {"preemptions", std::move(by_point)},
          {"periodic", t.periodic}};
  o["latency_ns"] = t.periodic ? summary_json(t.latency) : ojson(nullptr);
  o["deadline_misses"] = t.deadline_misses;
  return o;
}

ojson cell_json(const wl::CellResult& c) {
  static const wl::MeasuredTask kNothing{};
  const wl::MeasuredTask& head = c.measured.empty() ? kNothing : c.measured.front();
  ojson cell;
  cell["model"] = c.model;
  cell["workload"] = c.workload;
  cell["load"] = number(c.load);
  cell["round"] = c.round;
  cell["clock"] = c.clock;
  cell["duration_ns"] = c.duration_ns;
  cell["host_fifo"] = c.host_fifo;
  cell["latency_ns"] = summary_json(head.latency);
  cell["model_delay_ns"] = summary_json(head.model_delay);
  ojson by_point = ojson::object();
  for (const auto& [point, rate] : c.throughput.preemptions_by_point_per_s) {
    by_point[point] = number(rate);
  }
  cell["throughput"] = ojson{{"ops", c.throughput.ops},
                             {"ops_per_s", number(c.throughput.ops_per_s)},
                             {"work_fraction", number(c.throughput.work_fraction)},
                             {"ctx_switches_per_s", number(c.throughput.ctx_switches_per_s)},
                             {"preemptions_per_s", number(c.throughput.preemptions_per_s)},
                             {"preemptions_by_point_per_s", std::move(by_point)}};
  cell["windows"] = ojson{{"preemptoff_max_ns", c.windows.preemptoff_max_ns},
                          {"preemptoff_where", c.windows.preemptoff_where},
                          {"irqsoff_max_ns", c.windows.irqsoff_max_ns},
                          {"irqsoff_where", c.windows.irqsoff_where}};
  cell["histogram"] = histogram_json(head.latency_hist);
  ojson measured = ojson::array();
  for (const auto& m : c.measured) measured.push_back(measured_json(m));
  cell["measured"] = std::move(measured);
  ojson tasks = ojson::array();
  for (const auto& t : c.tasks) tasks.push_back(task_json(t));
  cell["tasks"] = std::move(tasks);
  ojson counters = ojson::object();
  for (const auto& [name, n] : c.counters) counters[name] = n;
  cell["counters"] = std::move(counters);
  cell["notes"] = c.notes;
  cell["watchdog_tripped"] = c.watchdog_tripped;
  cell["partial"] = c.partial;
  ojson segments = ojson::array();
  for (const auto& s : c.segments) {
    segments.push_back(ojson{{"start_ns", s.start_ns},
                             {"duration_ns", s.duration_ns},
                             {"host_stolen_ns", s.host_stolen_ns},
                             {"host_stall_ns", s.host_stall_ns},
                             {"rt_busy_max_ns", s.rt_busy_max_ns},
                             {"samples", s.samples},
                             {"missed", s.missed},
                             {"max_ns", s.max_ns}});
  }
  cell["segments"] = std::move(segments);
  cell["error"] = c.error;
  return cell;
}

ojson config_json(const RunConfig& c, const std::string& label) {
  ojson loads = ojson::array();
  for (double l : c.loads) loads.push_back(number(l));
  return ojson{{"models", c.models},
               {"workloads", c.workloads},
               {"sets", c.sets},
               {"loads", std::move(loads)},
               {"duration_s", number(c.duration_s)},
               {"vcpus", c.vcpus},
               {"hz", c.hz},
               {"base_slice_us", c.base_slice_us},
               {"seed", c.seed},
               {"rounds", c.rounds},
               {"use_fifo", c.use_fifo},
               {"debug_aids", c.debug_aids},
               {"clock", c.clock},
               {"wakeup", c.wakeup},
               {"out_dir", c.out_dir},
               {"formats", c.formats},
               {"plots", c.plots},
               {"label", label},
               {"command_line", c.command_line}};
}

}  // namespace

ojson to_json(const RunDocument& doc) {
  ojson j;
  j["schema"] = kRunSchema;
  j["tool"] = ojson{
      {"name", doc.tool_name}, {"version", doc.tool_version}, {"git_commit", doc.tool_git_commit}};
  j["label"] = doc.label;
  j["partial"] = doc.partial;
  j["stopped_by"] = doc.stopped_by;
  j["clock"] = doc.clock;
  j["started"] = doc.started;
  j["finished"] = doc.finished;
  j["elapsed_s"] = number(doc.elapsed_s);
  j["cells_planned"] = doc.cells_planned;
  j["machine"] = ojson(doc.machine);
  j["config"] = config_json(doc.config, doc.label);
  j["workloads"] = ojson(doc.workloads);
  ojson cells = ojson::array();
  for (const auto& c : doc.cells) cells.push_back(cell_json(c));
  j["cells"] = std::move(cells);
  return j;
}

// --- pretty printing -------------------------------------------------------------

namespace {

bool is_numeric_array(const ojson& a) {
  for (const auto& e : a) {
    if (e.is_number() || e.is_null()) continue;
    if (e.is_array()) {
      for (const auto& x : e) {
        if (!x.is_number()) return false;
      }
      continue;
    }
    return false;
  }
  return true;
}

bool is_short_scalar_array(const ojson& a) {
  for (const auto& e : a) {
    if (e.is_structured()) return false;
  }
  return a.dump(-1, ' ', false, ojson::error_handler_t::replace).size() <= 80;
}

void dump_into(const ojson& j, int indent, std::string& out) {
  const auto scalar = [](const ojson& v) {
    return v.dump(-1, ' ', false, ojson::error_handler_t::replace);
  };
  const std::string pad(static_cast<size_t>(indent) + 2, ' ');
  if (j.is_object() && !j.empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& [key, value] : j.items()) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      out += scalar(ojson(key));
      out += ": ";
      dump_into(value, indent + 2, out);
    }
    out += '\n';
    out.append(static_cast<size_t>(indent), ' ');
    out += '}';
  } else if (j.is_array() && !j.empty() && !is_numeric_array(j) && !is_short_scalar_array(j)) {
    out += "[\n";
    bool first = true;
    for (const auto& value : j) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      dump_into(value, indent + 2, out);
    }
    out += '\n';
    out.append(static_cast<size_t>(indent), ' ');
    out += ']';
  } else {
    out += scalar(j);
  }
}

}  // namespace

std::string dump_json(const ojson& j) {
  std::string out;
  dump_into(j, 0, out);
  out += '\n';
  return out;
}

// --- reading -------------------------------------------------------------------

namespace {

struct ReadError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}
std::string index(const std::string& path, size_t i) { return fmt::format("{}[{}]", path, i); }

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw ReadError(path.empty() ? what : path + ": " + what);
}

[[noreturn]] void wrong_type(const std::string& path, const char* expected, const json& v) {
  const char* got = v.type_name();
  if (v.is_number_float()) got = "a non-integer number";
  if (v.is_number_integer()) got = "an integer";
  fail(path, fmt::format("expected {}, got {}", expected, got));
}

// A JSON object being read, with its key path for messages.
class Obj {
 public:
  Obj(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) wrong_type(path_, "an object", j_);
  }
  const std::string& path() const { return path_; }
  std::string path_of(const char* key) const { return join(path_, key); }
  const json* find(const char* key) const {
    const auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  const json& at(const char* key) const {
    const json* v = find(key);
    if (v == nullptr) fail(path_, fmt::format("missing key \"{}\"", key));
    return *v;
  }
  Obj obj(const char* key) const { return Obj(at(key), path_of(key)); }

 private:
  const json& j_;
  std::string path_;
};

std::string as_string(const json& v, const std::string& path) {
  if (!v.is_string()) wrong_type(path, "a string", v);
  return v.get<std::string>();
}

bool as_bool(const json& v, const std::string& path) {
  if (!v.is_boolean()) wrong_type(path, "true or false", v);
  return v.get<bool>();
}

int64_t as_int64(const json& v, const std::string& path, int64_t min = 0,
                 int64_t max = std::numeric_limits<int64_t>::max()) {
  int64_t r = 0;
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      fail(path, fmt::format("{} is out of range [{}, {}]", u, min, max));
    }
    r = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    r = v.get<int64_t>();
  } else {
    wrong_type(path, "an integer", v);
  }
  if (r < min || r > max) fail(path, fmt::format("{} is out of range [{}, {}]", r, min, max));
  return r;
}

int as_int(const json& v, const std::string& path, int min, int max) {
  return static_cast<int>(as_int64(v, path, min, max));
}

uint64_t as_uint64(const json& v, const std::string& path) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    const auto s = v.get<int64_t>();
    if (s < 0) fail(path, fmt::format("expected a non-negative integer, got {}", s));
    return static_cast<uint64_t>(s);
  }
  wrong_type(path, "a non-negative integer", v);
}

// A number; null (what a non-finite double is written as) reads as NaN.
double as_double(const json& v, const std::string& path) {
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (!v.is_number()) wrong_type(path, "a number", v);
  return v.get<double>();
}

std::vector<std::string> as_strings(const json& v, const std::string& path) {
  if (!v.is_array()) wrong_type(path, "an array of strings", v);
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) out.push_back(as_string(v[i], index(path, i)));
  return out;
}

// Optional keys: read when present (with their type checked), else keep *out.
template <typename T, typename F>
void optional_key(const Obj& o, const char* key, T* out, F&& read) {
  if (const json* v = o.find(key)) *out = read(*v, o.path_of(key));
}

wl::LatencySummary read_summary(const Obj& o) {
  wl::LatencySummary s;
  s.min = as_int64(o.at("min"), o.path_of("min"));
  s.p50 = as_int64(o.at("p50"), o.path_of("p50"));
  s.p90 = as_int64(o.at("p90"), o.path_of("p90"));
  s.p99 = as_int64(o.at("p99"), o.path_of("p99"));
  s.p999 = as_int64(o.at("p999"), o.path_of("p999"));
  s.max = as_int64(o.at("max"), o.path_of("max"));
  s.count = as_uint64(o.at("count"), o.path_of("count"));
  s.missed = as_uint64(o.at("missed"), o.path_of("missed"));
  return s;
}

bool same_summary(const wl::LatencySummary& a, const wl::LatencySummary& b) {
  return a.min == b.min && a.p50 == b.p50 && a.p90 == b.p90 && a.p99 == b.p99 && a.p999 == b.p999 &&
         a.max == b.max && a.count == b.count && a.missed == b.missed;
}

LatencyHistogram read_histogram(const json& v, const std::string& path) {
  LatencyHistogram h;
  std::string error;
  if (!pb::from_json(v, &h, &error)) fail(path, error);
  return h;
}

wl::MeasuredTask read_measured(const Obj& o) {
  wl::MeasuredTask m;
  optional_key(o, "name", &m.name, as_string);
  optional_key(o, "sched", &m.sched, as_string);
  optional_key(o, "vcpu", &m.vcpu, [](const json& v, const std::string& p) {
    return as_int(v, p, 0, std::numeric_limits<int>::max());
  });
  optional_key(o, "period_ns", &m.period_ns,
               [](const json& v, const std::string& p) { return as_int64(v, p); });
  optional_key(o, "periods", &m.periods, as_uint64);
  m.latency = read_summary(o.obj("latency_ns"));
  m.latency_hist = read_histogram(o.at("histogram"), o.path_of("histogram"));
  if (o.find("model_delay_ns")) m.model_delay = read_summary(o.obj("model_delay_ns"));
  optional_key(o, "model_delay_histogram", &m.model_delay_hist, read_histogram);
  return m;
}

wl::TaskRecord read_task(const Obj& o) {
  wl::TaskRecord t;
  t.name = as_string(o.at("name"), o.path_of("name"));
  optional_key(o, "class", &t.sched_class, as_string);
  const auto any_int = [](const json& v, const std::string& p) {
    return as_int(v, p, std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
  };
  const auto i64 = [](const json& v, const std::string& p) { return as_int64(v, p); };
  optional_key(o, "priority", &t.priority, any_int);
  optional_key(o, "nice", &t.nice, any_int);
  optional_key(o, "vcpu", &t.vcpu, any_int);
  optional_key(o, "ops", &t.ops, as_uint64);
  optional_key(o, "runtime_ns", &t.runtime_ns, i64);
  optional_key(o, "wait_ns", &t.wait_ns, i64);
  optional_key(o, "dispatches", &t.dispatches, as_uint64);
  if (o.find("preemptions")) {
    const Obj by = o.obj("preemptions");
    for (const auto& [point, n] : o.at("preemptions").items()) {
      t.preemptions[point] = as_uint64(n, by.path_of(point.c_str()));
    }
  }
  optional_key(o, "periodic", &t.periodic, as_bool);
  if (const json* l = o.find("latency_ns"); l != nullptr && !l->is_null()) {
    t.latency = read_summary(o.obj("latency_ns"));
  }
  optional_key(o, "deadline_misses", &t.deadline_misses, as_uint64);
  return t;
}

wl::CellResult read_cell(const Obj& o) {
  wl::CellResult c;
  c.model = as_string(o.at("model"), o.path_of("model"));
  if (!exec::parse_model(c.model)) {
    fail(o.path_of("model"),
         fmt::format("unknown model \"{}\" (expected none, voluntary, full, lazy or rt)", c.model));
  }
  c.workload = as_string(o.at("workload"), o.path_of("workload"));
  c.load = as_double(o.at("load"), o.path_of("load"));
  if (!std::isfinite(c.load) || c.load < 0) {
    fail(o.path_of("load"), "expected a finite non-negative number");
  }
  optional_key(o, "round", &c.round, [](const json& v, const std::string& p) {
    return as_int(v, p, 0, std::numeric_limits<int>::max());
  });
  optional_key(o, "clock", &c.clock, as_string);
  if (c.clock != "real" && c.clock != "simulated") {
    fail(o.path_of("clock"),
         fmt::format("expected \"real\" or \"simulated\", got \"{}\"", c.clock));
  }
  optional_key(o, "duration_ns", &c.duration_ns,
               [](const json& v, const std::string& p) { return as_int64(v, p); });
  optional_key(o, "host_fifo", &c.host_fifo, as_bool);

  // The headline: required at the top of the cell, and equal to measured[0]
  // when the cell lists its measuring tasks.
  const wl::LatencySummary latency = read_summary(o.obj("latency_ns"));
  const LatencyHistogram hist = read_histogram(o.at("histogram"), o.path_of("histogram"));
  if (const json* m = o.find("measured")) {
    const std::string path = o.path_of("measured");
    if (!m->is_array()) wrong_type(path, "an array", *m);
    for (size_t i = 0; i < m->size(); ++i)
      c.measured.push_back(read_measured(Obj((*m)[i], index(path, i))));
  }
  if (const json* ts = o.find("tasks")) {
    const std::string path = o.path_of("tasks");
    if (!ts->is_array()) wrong_type(path, "an array", *ts);
    for (size_t i = 0; i < ts->size(); ++i)
      c.tasks.push_back(read_task(Obj((*ts)[i], index(path, i))));
  }
  if (!c.measured.empty()) {
    if (!same_summary(latency, c.measured[0].latency)) {
      fail(o.path_of("latency_ns"), "differs from measured[0].latency_ns (the headline)");
    }
    if (!(hist == c.measured[0].latency_hist)) {
      fail(o.path_of("histogram"), "differs from measured[0].histogram (the headline)");
    }
  } else if (latency.count != 0 || hist.count() != 0) {
    // A minimal document (no "measured"): the headline is the only task.
    wl::MeasuredTask head;
    head.latency = latency;
    head.latency_hist = hist;
    if (o.find("model_delay_ns")) head.model_delay = read_summary(o.obj("model_delay_ns"));
    c.measured.push_back(std::move(head));
  }

  const Obj t = o.obj("throughput");
  optional_key(t, "ops", &c.throughput.ops, as_uint64);
  c.throughput.ops_per_s = as_double(t.at("ops_per_s"), t.path_of("ops_per_s"));
  c.throughput.work_fraction = as_double(t.at("work_fraction"), t.path_of("work_fraction"));
  c.throughput.ctx_switches_per_s =
      as_double(t.at("ctx_switches_per_s"), t.path_of("ctx_switches_per_s"));
  c.throughput.preemptions_per_s =
      as_double(t.at("preemptions_per_s"), t.path_of("preemptions_per_s"));
  if (t.find("preemptions_by_point_per_s")) {
    const Obj by = t.obj("preemptions_by_point_per_s");
    for (const auto& [point, rate] : t.at("preemptions_by_point_per_s").items()) {
      c.throughput.preemptions_by_point_per_s[point] = as_double(rate, by.path_of(point.c_str()));
    }
  }

  const Obj w = o.obj("windows");
  c.windows.preemptoff_max_ns = as_int64(w.at("preemptoff_max_ns"), w.path_of("preemptoff_max_ns"));
  c.windows.irqsoff_max_ns = as_int64(w.at("irqsoff_max_ns"), w.path_of("irqsoff_max_ns"));
  optional_key(w, "preemptoff_where", &c.windows.preemptoff_where, as_string);
  optional_key(w, "irqsoff_where", &c.windows.irqsoff_where, as_string);

  if (o.find("counters")) {
    const Obj counters = o.obj("counters");
    for (const auto& [name, n] : o.at("counters").items()) {
      c.counters[name] = as_uint64(n, counters.path_of(name.c_str()));
    }
  }
  optional_key(o, "notes", &c.notes, as_strings);
  optional_key(o, "watchdog_tripped", &c.watchdog_tripped, as_bool);
  optional_key(o, "partial", &c.partial, as_bool);
  if (const json* segs = o.find("segments")) {
    const std::string path = o.path_of("segments");
    if (!segs->is_array()) wrong_type(path, "an array of segments", *segs);
    for (size_t i = 0; i < segs->size(); ++i) {
      const Obj so((*segs)[i], index(path, i));
      const auto i64 = [&so](const char* k) -> int64_t {
        const json* v = so.find(k);
        return v != nullptr ? as_int64(*v, so.path_of(k)) : 0;
      };
      const auto u64 = [&so](const char* k) -> uint64_t {
        const json* v = so.find(k);
        return v != nullptr ? as_uint64(*v, so.path_of(k)) : 0;
      };
      wl::SegmentFigures sf;
      sf.start_ns = as_int64(so.at("start_ns"), so.path_of("start_ns"));
      sf.duration_ns = as_int64(so.at("duration_ns"), so.path_of("duration_ns"));
      sf.host_stolen_ns = i64("host_stolen_ns");
      sf.host_stall_ns = i64("host_stall_ns");
      sf.rt_busy_max_ns = i64("rt_busy_max_ns");
      sf.samples = u64("samples");
      sf.missed = u64("missed");
      sf.max_ns = i64("max_ns");
      c.segments.push_back(sf);
    }
  }
  optional_key(o, "error", &c.error, as_string);
  return c;
}

RunConfig read_config(const Obj& o) {
  RunConfig c;
  optional_key(o, "models", &c.models, as_strings);
  optional_key(o, "workloads", &c.workloads, as_strings);
  optional_key(o, "sets", &c.sets, as_strings);
  if (const json* loads = o.find("loads")) {
    const std::string path = o.path_of("loads");
    if (!loads->is_array()) wrong_type(path, "an array of numbers", *loads);
    for (size_t i = 0; i < loads->size(); ++i)
      c.loads.push_back(as_double((*loads)[i], index(path, i)));
  }
  optional_key(o, "duration_s", &c.duration_s, as_double);
  const auto positive_int = [](const json& v, const std::string& p) {
    return as_int(v, p, 1, std::numeric_limits<int>::max());
  };
  optional_key(o, "vcpus", &c.vcpus, positive_int);
  optional_key(o, "hz", &c.hz, positive_int);
  optional_key(o, "base_slice_us", &c.base_slice_us,
               [](const json& v, const std::string& p) { return as_int64(v, p); });
  optional_key(o, "seed", &c.seed, as_uint64);
  optional_key(o, "rounds", &c.rounds, positive_int);
  optional_key(o, "use_fifo", &c.use_fifo, as_bool);
  optional_key(o, "debug_aids", &c.debug_aids, as_string);
  optional_key(o, "clock", &c.clock, as_string);
  optional_key(o, "wakeup", &c.wakeup, as_string);
  optional_key(o, "out_dir", &c.out_dir, as_string);
  optional_key(o, "formats", &c.formats, as_strings);
  optional_key(o, "plots", &c.plots, as_bool);
  optional_key(o, "command_line", &c.command_line, as_string);
  if (const json* label = o.find("label")) as_string(*label, o.path_of("label"));
  return c;
}

RunDocument read_document(const json& j) {
  const Obj top(j, "");
  RunDocument d;
  const std::string schema = as_string(top.at("schema"), "schema");
  if (schema != kRunSchema) {
    if (schema.rfind(kRunSchemaPrefix, 0) == 0) {
      fail("schema", fmt::format("unsupported version \"{}\" (this preemptbench reads \"{}\")",
                                 schema, kRunSchema));
    }
    fail("schema",
         fmt::format("\"{}\" is not a preemptbench run document (\"{}\")", schema, kRunSchema));
  }
  if (top.find("tool")) {
    const Obj tool = top.obj("tool");
    optional_key(tool, "name", &d.tool_name, as_string);
    optional_key(tool, "version", &d.tool_version, as_string);
    optional_key(tool, "git_commit", &d.tool_git_commit, as_string);
  }
  optional_key(top, "label", &d.label, as_string);
  d.partial = as_bool(top.at("partial"), "partial");
  optional_key(top, "stopped_by", &d.stopped_by, as_string);
  optional_key(top, "clock", &d.clock, as_string);
  optional_key(top, "started", &d.started, as_string);
  optional_key(top, "finished", &d.finished, as_string);
  optional_key(top, "elapsed_s", &d.elapsed_s, as_double);
  optional_key(top, "cells_planned", &d.cells_planned, [](const json& v, const std::string& p) {
    return as_int(v, p, 0, std::numeric_limits<int>::max());
  });
  top.obj("machine");  // an object; its keys are sysinfo's contract, not checked here
  d.machine = top.at("machine");
  d.config = read_config(top.obj("config"));
  if (const json* w = top.find("workloads")) {
    if (!w->is_object()) wrong_type("workloads", "an object", *w);
    d.workloads = *w;
  }
  const json& cells = top.at("cells");
  if (!cells.is_array()) wrong_type("cells", "an array", cells);
  for (size_t i = 0; i < cells.size(); ++i)
    d.cells.push_back(read_cell(Obj(cells[i], index("cells", i))));
  return d;
}

}  // namespace

bool from_json(const json& j, RunDocument* out, std::string* error) {
  try {
    RunDocument d = read_document(j);
    if (out != nullptr) *out = std::move(d);
    return true;
  } catch (const std::exception& e) {  // ReadError, and nlohmann's own as a safety net
    if (error != nullptr) *error = e.what();
    return false;
  }
}

bool read_run_document(const std::string& path, RunDocument* out, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    if (error != nullptr) *error = path + ": cannot open";
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  json j;
  try {
    j = json::parse(text.str());
  } catch (const json::parse_error& e) {
    if (error != nullptr) *error = fmt::format("{}: not JSON ({})", path, e.what());
    return false;
  }
  std::string why;
  if (!from_json(j, out, &why)) {
    if (error != nullptr) *error = path + ": " + why;
    return false;
  }
  return true;
}

}  // namespace pb::report
