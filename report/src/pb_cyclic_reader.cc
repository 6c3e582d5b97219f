// "preemptbench.cyclic/1": pb-cyclictest's --json. cyclictest's keys plus,
// per thread, the full log-linear histogram in ns ("latency_histogram") and
// the missed periods; the machine fingerprint at the top.
#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "pb/report/readers.h"
#include "reader_util.h"

namespace pb::report {

using detail::Obj;
using detail::ReadError;
using json = nlohmann::json;

namespace {

constexpr const char kSchema[] = "preemptbench.cyclic/1";
constexpr const char kSchemaPrefix[] = "preemptbench.cyclic/";

std::string str_in(const json& j, const char* object, const char* key) {
  if (!j.is_object()) return "";
  const auto o = j.find(object);
  if (o == j.end() || !o->is_object()) return "";
  const auto v = o->find(key);
  return v != o->end() && v->is_string() ? v->get<std::string>() : "";
}

}  // namespace

bool read_pb_cyclic(std::string_view text, const std::string& name, std::vector<Record>* out,
                    std::string* error) {
  try {
    const json j = detail::parse_json(text);
    const Obj top(j, "");
    const std::string schema = detail::as_string(top.at("schema"), "schema");
    if (schema != kSchema) {
      if (schema.rfind(kSchemaPrefix, 0) == 0) {
        detail::fail("schema",
                     fmt::format("unsupported version \"{}\" (this preemptbench reads \"{}\")",
                                 schema, kSchema));
      }
      detail::fail("schema", fmt::format("\"{}\" is not \"{}\"", schema, kSchema));
    }
    std::string mode = "nanosleep";
    if (const json* v = top.find("mode")) mode = detail::as_string(*v, "mode");
    if (const json* v = top.find("unit")) {
      const std::string unit = detail::as_string(*v, "unit");
      if (unit != "us" && unit != "ns")
        detail::fail("unit", "expected \"us\" or \"ns\", got \"" + unit + "\"");
    }
    std::string tool = "pb-cyclictest";
    if (top.find("tool")) {
      const Obj t = top.obj("tool");
      if (const json* v = t.find("version"))
        tool += " " + detail::as_string(*v, t.path_of("version"));
    }
    json machine = json::object();
    if (top.find("machine")) machine = top.obj("machine").value();
    json sysinfo = json::object();
    if (top.find("sysinfo")) sysinfo = top.obj("sysinfo").value();

    Record m;
    if (const auto h = machine.find("hostname"); h != machine.end() && h->is_string()) {
      m.label = h->get<std::string>();
    }
    if (m.label.empty()) m.label = str_in(j, "sysinfo", "nodename");
    if (m.label.empty()) m.label = "unknown";
    m.kernel = str_in(machine, "kernel", "release");
    if (m.kernel.empty()) m.kernel = str_in(j, "sysinfo", "release");
    if (m.kernel.empty()) m.kernel = "unknown";
    m.host_model = detail::host_model_from_machine(machine);
    if (const auto v = sysinfo.find("version");
        m.host_model == "unknown" && v != sysinfo.end() && v->is_string()) {
      bool rt = false;
      if (const auto r = sysinfo.find("realtime"); r != sysinfo.end() && r->is_number_integer()) {
        rt = r->get<int64_t>() == 1;
      }
      m.host_model = detail::host_model_from_uname(v->get<std::string>(), rt);
    }
    m.model = "host";
    m.workload = "pb-cyclictest/" + mode;
    m.source = name;
    m.format = SourceFormat::kPbCyclic;
    m.tool = tool;
    m.has_histogram = true;
    m.missed = 0;
    if (const json* p = top.find("partial"); p != nullptr && p->is_boolean() && p->get<bool>()) {
      std::string by;
      if (const json* s = top.find("stopped_by"); s != nullptr && s->is_string()) {
        by = " by " + s->get<std::string>();
      }
      m.partial = "a partial run (stopped" + by + " before its planned end)";
      m.interrupted = true;
    }

    const Obj threads = top.obj("thread");
    if (const json* n = top.find("num_threads")) {
      const int64_t want = detail::as_int(*n, "num_threads", 0, 1 << 20);
      if (static_cast<size_t>(want) != threads.value().size()) {
        detail::fail("num_threads",
                     fmt::format("says {} but \"thread\" has {}", want, threads.value().size()));
      }
    }
    for (const auto& [key, value] : threads.value().items()) {
      const std::string path = threads.path_of(key);
      if (!detail::parse_index(key)) detail::fail(path, "thread keys must be decimal indices");
      const Obj t(value, path);
      LatencyHistogram h;
      std::string why;
      if (!pb::from_json(t.at("latency_histogram"), &h, &why)) {
        detail::fail(t.path_of("latency_histogram"), why);
      }
      const uint64_t cycles = detail::as_count(t.at("cycles"), t.path_of("cycles"));
      if (cycles != h.count()) {
        detail::fail(t.path_of("cycles"),
                     fmt::format("{} differs from latency_histogram.count {}", cycles, h.count()));
      }
      if (h.max() > kMaxLatencyNs) {
        detail::fail(t.path_of("latency_histogram.max"),
                     fmt::format("{} ns is more than a day", h.max()));
      }
      const uint64_t missed = detail::as_count(t.at("missed"), t.path_of("missed"));
      if (m.count + h.count() > kMaxSamples) detail::fail(path, "implausible sample count");
      m.histogram.merge(h);
      m.count += h.count();
      *m.missed += missed;
      if (const json* e = t.find("error")) {
        m.error = detail::as_string(*e, t.path_of("error"));
      }
    }
    m.min_ns = m.histogram.min();
    m.max_ns = m.histogram.max();
    m.mean_ns = m.histogram.mean();
    if (!m.error.empty() && m.count > 0)
      m.error.clear();  // a thread failed late: its samples stand
    out->push_back(std::move(m));
    return true;
  } catch (const std::exception& e) {
    if (error != nullptr) *error = name + ": " + e.what();
    return false;
  }
}

}  // namespace pb::report
