// cyclictest's -h histogram text, the format OSADL's plots consume:
//
//   # Histogram
//   000000 000000	000000          bucket (µs), then one count per thread
//   ...                              (tab-separated; --histofall adds a total)
//   # Total: 000001992 000001992     (rt-tests <= 2.6; 2.7 dropped it and
//   # Min Latencies: 00007 00006      the empty buckets: both are accepted)
//   # Avg Latencies: 00028 00023
//   # Max Latencies: 05832 05833
//   # Histogram Overflows: 00008 00008
//   # Histogram Overflow at cycle number:
//   # Thread 0: 00370 00670 ...
//
// Also accepted around it: other "#" comments (cyclictest's
// "# /dev/cpu_dma_latency set to 0us"; pb-cyclictest's "# Missed Periods:
// 00000 00003", one column per thread, whose counts are taken, and the
// "# T: 0 (...) p50: ... Missed: N" lines of its earlier versions), thread
// lines "T: 0 (...)" and blank lines. Anything else is an error naming the line. The text does
// not say its unit: it is read as µs (cyclictest without -N).
#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "pb/report/readers.h"
#include "reader_util.h"

namespace pb::report {

namespace {

constexpr size_t kMaxColumns = 4096;
constexpr uint64_t kMaxBucketUs = 100'000'000;  // 100 s

using detail::fail;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Whitespace-separated unsigned decimals; nullopt if any word is not one.
std::optional<std::vector<uint64_t>> numbers(std::string_view s, const std::string& where) {
  std::vector<uint64_t> v;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i == s.size()) break;
    size_t k = i;
    while (k < s.size() && s[k] != ' ' && s[k] != '\t') ++k;
    const std::string_view word = s.substr(i, k - i);
    // cyclictest zero-pads: strip leading zeros before the length check.
    size_t z = 0;
    while (z + 1 < word.size() && word[z] == '0') ++z;
    const auto n = detail::parse_index(word.substr(z));
    if (!n) {
      if (!word.empty() &&
          std::all_of(word.begin(), word.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        fail(where, fmt::format("number {} is too large", word.substr(0, 40)));
      }
      return std::nullopt;
    }
    if (v.size() == kMaxColumns) fail(where, fmt::format("more than {} columns", kMaxColumns));
    v.push_back(*n);
    i = k;
  }
  return v;
}

}  // namespace

bool read_histogram_text(std::string_view text, const std::string& name, const std::string& label,
                         std::vector<Record>* out, std::string* error) {
  try {
    if (detail::looks_binary(text)) fail("", "binary data, not a cyclictest histogram");
    struct Summary {
      std::optional<std::vector<uint64_t>> total, min, avg, max, overflows, missed;
    } sum;
    std::vector<std::pair<uint64_t, std::vector<uint64_t>>> rows;  // bucket, counts
    std::vector<std::pair<uint64_t, uint64_t>> missed;             // thread, missed
    bool header = false;
    size_t columns = 0;
    size_t line_no = 0;
    for (size_t pos = 0; pos < text.size();) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      const std::string_view line = trim(text.substr(pos, end - pos));
      pos = end + 1;
      ++line_no;
      const std::string where = fmt::format("line {}", line_no);
      if (line.empty()) continue;
      if (line[0] == '#') {
        const std::string_view c = trim(line.substr(1));
        const auto take = [&](std::string_view tag, std::optional<std::vector<uint64_t>>* into) {
          if (!starts_with(c, tag)) return false;
          if (into->has_value()) fail(where, fmt::format("a second \"# {}\" line", tag));
          auto v = numbers(c.substr(tag.size()), where);
          if (!v) fail(where, fmt::format("\"# {}\" must be followed by numbers", tag));
          *into = std::move(*v);
          return true;
        };
        if (c == "Histogram") {
          header = true;
        } else if (take("Total:", &sum.total) || take("Min Latencies:", &sum.min) ||
                   take("Avg Latencies:", &sum.avg) || take("Max Latencies:", &sum.max) ||
                   take("Histogram Overflows:", &sum.overflows) ||
                   take("Missed Periods:", &sum.missed)) {
        } else if (starts_with(c, "T:")) {
          // pb-cyclictest: "# T: 0 ( 4434) p50: ... Missed: 3".
          const size_t paren = c.find('(');
          const size_t at = c.find("Missed:");
          if (paren != std::string_view::npos && at != std::string_view::npos && at > paren) {
            const auto idx = numbers(trim(c.substr(2, paren - 2)), where);
            const auto n = numbers(c.substr(at + 7), where);
            if (idx && idx->size() == 1 && n && n->size() == 1)
              missed.emplace_back((*idx)[0], (*n)[0]);
          }
        }
        continue;  // every other comment is cyclictest's business
      }
      if (starts_with(line, "T:")) continue;  // a thread line (run without -q)
      auto v = numbers(line, where);
      if (!v || v->size() < 2) {
        fail(where, fmt::format("not a histogram line: \"{}\"", line.substr(0, 60)));
      }
      if (columns == 0) columns = v->size() - 1;
      if (v->size() - 1 != columns) {
        fail(where, fmt::format("{} counts, but earlier lines have {}", v->size() - 1, columns));
      }
      const uint64_t bucket = (*v)[0];
      if (bucket > kMaxBucketUs) fail(where, fmt::format("bucket {} µs is beyond 100 s", bucket));
      if (!rows.empty() && bucket <= rows.back().first) {
        fail(where, fmt::format("bucket {} does not follow bucket {}", bucket, rows.back().first));
      }
      v->erase(v->begin());
      rows.emplace_back(bucket, std::move(*v));
    }
    if (!header && rows.empty())
      fail("", "no \"# Histogram\" and no histogram lines: not a cyclictest histogram");

    // Threads: what the per-thread summaries say, else the data columns. A
    // --histofall total column is one more than the threads (Min and Avg
    // never have it).
    size_t threads = columns;
    if (sum.min)
      threads = sum.min->size();
    else if (sum.avg)
      threads = sum.avg->size();
    else if (sum.max && columns == 0)
      threads = sum.max->size();
    if (threads == 0) fail("", "no thread columns");
    if (columns != 0 && columns != threads && columns != threads + 1) {
      fail("", fmt::format("histogram lines have {} counts for {} threads", columns, threads));
    }
    const auto check = [&](const std::optional<std::vector<uint64_t>>& v, const char* tag) {
      if (v && v->size() != threads && v->size() != threads + 1) {
        fail(tag, fmt::format("{} values for {} threads", v->size(), threads));
      }
    };
    check(sum.total, "# Total");
    check(sum.min, "# Min Latencies");
    check(sum.avg, "# Avg Latencies");
    check(sum.max, "# Max Latencies");
    check(sum.overflows, "# Histogram Overflows");

    Record m;
    m.label = label.empty() ? "unknown" : label;
    m.kernel = "unknown";
    m.host_model = "unknown";
    m.model = "host";
    m.workload = "cyclictest";
    m.source = name;
    m.format = SourceFormat::kHistogramText;
    m.tool = "cyclictest (histogram)";
    m.has_histogram = true;
    m.resolution_ns = 1000;
    const uint64_t top = rows.empty() ? 0 : rows.back().first + 1;
    m.ceiling_ns = static_cast<int64_t>(top) * 1000;
    if (m.ceiling_ns == 0) m.ceiling_ns = 1000;  // every sample overflowed bucket 0
    double mean_sum = 0;
    bool first = true;
    for (size_t t = 0; t < threads; ++t) {
      const std::string col = fmt::format("thread {}", t);
      uint64_t in = 0;
      std::optional<uint64_t> lo, hi;
      for (const auto& [bucket, counts] : rows) {
        const uint64_t n = counts[t];
        if (n == 0) continue;
        if (n > kMaxSamples || in + n > kMaxSamples) fail(col, "implausible sample count");
        in += n;
        if (!lo) lo = bucket;
        hi = bucket;
      }
      if (sum.total && (*sum.total)[t] != in) {
        fail("# Total",
             fmt::format("{} for thread {}, but its buckets add up to {}", (*sum.total)[t], t, in));
      }
      const uint64_t over = sum.overflows ? (*sum.overflows)[t] : 0;
      if (over > kMaxSamples || in + over > kMaxSamples)
        fail("# Histogram Overflows", "implausible sample count");
      const uint64_t cycles = in + over;
      if (cycles == 0) continue;
      // Max: as written, else the top bucket; with overflows and no max, the
      // ceiling is all that is known.
      uint64_t max = sum.max ? (*sum.max)[t] : (over > 0 ? top : hi.value_or(0));
      uint64_t min = sum.min ? (*sum.min)[t] : (lo ? *lo : top);
      if (max > kMaxBucketUs || min > kMaxBucketUs) fail("# Max/Min Latencies", "beyond 100 s");
      if (hi && *hi > max)
        fail("# Max Latencies", fmt::format("{} for thread {}, below its bucket {}", max, t, *hi));
      if (lo && *lo < min)
        fail("# Min Latencies", fmt::format("{} for thread {}, above its bucket {}", min, t, *lo));
      if (over > 0 && max < top) {
        fail("# Max Latencies",
             fmt::format("{} for thread {}, but {} samples overflowed the {} buckets", max, t, over,
                         top));
      }
      double thread_sum = static_cast<double>(max) * 1000.0 * static_cast<double>(over);
      for (const auto& [bucket, counts] : rows) {
        m.histogram.record_n(static_cast<int64_t>(bucket) * 1000, counts[t]);
        thread_sum += static_cast<double>(bucket) * 1000.0 * static_cast<double>(counts[t]);
      }
      m.histogram.record_n(static_cast<int64_t>(max) * 1000, over);
      m.count += cycles;
      m.min_ns = first ? static_cast<int64_t>(min) * 1000
                       : std::min<int64_t>(m.min_ns, static_cast<int64_t>(min) * 1000);
      m.max_ns = std::max<int64_t>(m.max_ns, static_cast<int64_t>(max) * 1000);
      first = false;
      const double avg = sum.avg ? static_cast<double>((*sum.avg)[t]) * 1000.0
                                 : thread_sum / static_cast<double>(cycles);
      mean_sum += avg * static_cast<double>(cycles);
    }
    m.mean_ns = m.count > 0 ? mean_sum / static_cast<double>(m.count) : 0;
    if (sum.missed) {
      if (sum.missed->size() != threads) {
        fail("# Missed Periods",
             fmt::format("{} values for {} threads", sum.missed->size(), threads));
      }
      for (size_t t = 0; t < threads; ++t) missed.emplace_back(t, (*sum.missed)[t]);
    }
    if (!missed.empty()) {
      uint64_t total_missed = 0;
      for (const auto& [t, n] : missed) {
        if (n > kMaxSamples || total_missed + n > kMaxSamples)
          fail("# T:", "implausible missed count");
        total_missed += n;
      }
      m.missed = total_missed;
    }
    out->push_back(std::move(m));
    return true;
  } catch (const std::exception& e) {
    if (error != nullptr) *error = name + ": " + e.what();
    return false;
  }
}

}  // namespace pb::report
