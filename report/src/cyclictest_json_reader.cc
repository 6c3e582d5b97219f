// rt-tests 2.x `cyclictest --json=FILE`. Quirks handled: the keys
// "cmdline:" and "rt_test_version:" carry a stray colon (read with or
// without it); "avg" is a float, everything else integers in µs (ns when
// "resolution_in_ns" is 1); "histogram" holds only non-empty 1-unit buckets
// and is empty without -h; overflows and missed periods are not in the file
// (overflows are cycles minus the histogram's total; missed periods are
// simply unknown). The -h size is taken from the command line when it is
// there, so percentiles beyond the histogram read as ">= size".
#include <algorithm>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "pb/report/readers.h"
#include "reader_util.h"

namespace pb::report {

using detail::Obj;
using json = nlohmann::json;

namespace {

// The -h/-H/--histogram/--histofall size on a cyclictest command line, or 0.
// cyclictest does not quote its command line, so this is a best effort over
// space-separated words.
uint64_t histogram_size_from_cmdline(std::string_view cmdline) {
  std::vector<std::string_view> words;
  for (size_t i = 0; i < cmdline.size();) {
    while (i < cmdline.size() && cmdline[i] == ' ') ++i;
    size_t k = i;
    while (k < cmdline.size() && cmdline[k] != ' ') ++k;
    if (k > i) words.push_back(cmdline.substr(i, k - i));
    i = k;
  }
  uint64_t size = 0;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string_view w = words[i];
    std::string_view value;
    bool takes_next = false;
    for (const std::string_view opt : {"--histogram", "--histofall"}) {
      if (w == opt) takes_next = true;
      if (w.size() > opt.size() + 1 && w.substr(0, opt.size() + 1) == std::string(opt) + "=") {
        value = w.substr(opt.size() + 1);
      }
    }
    if (w == "-h" || w == "-H") takes_next = true;
    if (w.size() > 2 && (w.substr(0, 2) == "-h" || w.substr(0, 2) == "-H")) value = w.substr(2);
    if (takes_next && i + 1 < words.size()) value = words[i + 1];
    if (const auto v = detail::parse_index(value); v && *v > 0 && *v <= 100'000'000) size = *v;
  }
  return size;
}

std::string optional_string(const Obj& o, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    if (const json* v = o.find(k)) return detail::as_string(*v, o.path_of(k));
  }
  return "";
}

}  // namespace

bool read_cyclictest_json(std::string_view text, const std::string& name, std::vector<Record>* out,
                          std::string* error) {
  try {
    const json j = detail::parse_json(text);
    const Obj top(j, "");
    if (top.find("schema"))
      detail::fail("schema", "present: this is not rt-tests' cyclictest JSON");
    const int64_t version = detail::as_int(top.at("file_version"), "file_version", 0, INT32_MAX);
    if (version != 1) {
      detail::fail("file_version",
                   fmt::format("unsupported version {} (this preemptbench reads 1)", version));
    }
    const std::string cmdline = optional_string(top, {"cmdline:", "cmdline"});
    const std::string rt_version = optional_string(top, {"rt_test_version:", "rt_test_version"});
    int64_t unit = 1000;
    if (const json* r = top.find("resolution_in_ns")) {
      unit = detail::as_int(*r, "resolution_in_ns", 0, 1) == 1 ? 1 : 1000;
    }
    if (const json* rc = top.find("return_code"))
      detail::as_int(*rc, "return_code", INT32_MIN, INT32_MAX);

    Record m;
    m.label = "unknown";
    m.kernel = "unknown";
    m.host_model = "unknown";
    if (top.find("sysinfo")) {
      const Obj s = top.obj("sysinfo");
      if (const json* v = s.find("nodename"))
        m.label = detail::as_string(*v, s.path_of("nodename"));
      if (const json* v = s.find("release")) m.kernel = detail::as_string(*v, s.path_of("release"));
      bool realtime = false;
      if (const json* v = s.find("realtime"))
        realtime = detail::as_int(*v, s.path_of("realtime"), 0, 1) == 1;
      std::string uname_v;
      if (const json* v = s.find("version")) uname_v = detail::as_string(*v, s.path_of("version"));
      m.host_model = detail::host_model_from_uname(uname_v, realtime);
      if (m.label.empty()) m.label = "unknown";
      if (m.kernel.empty()) m.kernel = "unknown";
    }
    m.model = "host";
    m.workload = "cyclictest";
    m.source = name;
    m.format = SourceFormat::kCyclictestJson;
    m.tool = rt_version.empty() ? "cyclictest" : "cyclictest " + rt_version;

    const uint64_t hist_size = histogram_size_from_cmdline(cmdline);
    const int64_t max_value = kMaxLatencyNs / unit;  // in the file's unit
    const Obj threads = top.obj("thread");
    if (const json* n = top.find("num_threads")) {
      const int64_t want = detail::as_int(*n, "num_threads", 0, 1 << 20);
      if (static_cast<size_t>(want) != threads.value().size()) {
        detail::fail("num_threads",
                     fmt::format("says {} but \"thread\" has {}", want, threads.value().size()));
      }
    }

    struct Thread {
      uint64_t cycles = 0;
      int64_t min = 0, max = 0;
      double avg = 0;
      uint64_t in_histogram = 0;
      uint64_t top_bucket = 0;
      std::vector<std::pair<uint64_t, uint64_t>> buckets;  // (bucket, count)
    };
    std::vector<Thread> parsed;
    uint64_t total = 0, keys_total = 0, highest_key_plus_1 = 0;
    for (const auto& [key, value] : threads.value().items()) {
      const std::string path = threads.path_of(key);
      if (!detail::parse_index(key)) detail::fail(path, "thread keys must be decimal indices");
      const Obj t(value, path);
      Thread th;
      th.cycles = detail::as_count(t.at("cycles"), t.path_of("cycles"));
      th.min = detail::as_int(t.at("min"), t.path_of("min"), 0, max_value);
      th.max = detail::as_int(t.at("max"), t.path_of("max"), 0, max_value);
      th.avg = detail::as_number(t.at("avg"), t.path_of("avg"), 0, static_cast<double>(max_value));
      if (th.cycles > 0 && th.min > th.max) {
        detail::fail(path, fmt::format("min {} is above max {}", th.min, th.max));
      }
      if (total + th.cycles > kMaxSamples)
        detail::fail(t.path_of("cycles"), "implausible sample count");
      total += th.cycles;
      if (const json* hv = t.find("histogram")) {
        const Obj hist(*hv, t.path_of("histogram"));
        for (const auto& [bkey, count] : hv->items()) {
          const std::string bpath = hist.path_of(bkey);
          const auto b = detail::parse_index(bkey);
          if (!b) detail::fail(bpath, "histogram keys must be decimal bucket numbers");
          if (*b > static_cast<uint64_t>(max_value)) detail::fail(bpath, "bucket beyond a day");
          const uint64_t n = detail::as_count(count, bpath);
          if (n == 0) continue;
          th.in_histogram += n;
          if (th.in_histogram > th.cycles) {
            detail::fail(hist.path(),
                         fmt::format("holds more samples than the {} cycles", th.cycles));
          }
          th.top_bucket = std::max(th.top_bucket, *b);
          if (static_cast<int64_t>(*b) > th.max || static_cast<int64_t>(*b) < th.min) {
            detail::fail(
                bpath, fmt::format("bucket {} lies outside [min {}, max {}]", *b, th.min, th.max));
          }
          th.buckets.emplace_back(*b, n);
          highest_key_plus_1 = std::max(highest_key_plus_1, *b + 1);
        }
        keys_total += th.in_histogram;
      }
      if (hist_size > 0 && th.in_histogram < th.cycles &&
          static_cast<uint64_t>(th.max) < hist_size) {
        detail::fail(path, fmt::format("{} samples lie beyond the -h {} histogram, but max is {}",
                                       th.cycles - th.in_histogram, hist_size, th.max));
      }
      parsed.push_back(std::move(th));
    }

    // A histogram exists when cyclictest ran with -h (the command line says
    // so) or when one was written; without, only min/avg/max are known.
    m.resolution_ns = unit;
    m.has_histogram = hist_size > 0 || keys_total > 0;
    if (m.has_histogram) {
      const uint64_t ceiling =
          hist_size > 0 ? std::max(hist_size, highest_key_plus_1) : highest_key_plus_1;
      m.ceiling_ns = static_cast<int64_t>(ceiling) * unit;
    }
    double sum = 0;
    bool first = true;
    for (const Thread& th : parsed) {
      if (th.cycles == 0) continue;
      m.count += th.cycles;
      m.min_ns = first ? th.min * unit : std::min(m.min_ns, th.min * unit);
      m.max_ns = std::max(m.max_ns, th.max * unit);
      first = false;
      sum += th.avg * static_cast<double>(unit) * static_cast<double>(th.cycles);
      if (m.has_histogram) {
        for (const auto& [b, n] : th.buckets)
          m.histogram.record_n(static_cast<int64_t>(b) * unit, n);
        // Beyond the histogram: counted, at this thread's max (their only known value).
        m.histogram.record_n(th.max * unit, th.cycles - th.in_histogram);
      }
    }
    m.mean_ns = m.count > 0 ? sum / static_cast<double>(m.count) : 0;
    out->push_back(std::move(m));
    return true;
  } catch (const std::exception& e) {
    if (error != nullptr) *error = name + ": " + e.what();
    return false;
  }
}

}  // namespace pb::report
