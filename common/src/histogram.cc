#include "pb/histogram.h"

#include <cmath>
#include <memory>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pb {

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ = saturating_add(sum_, other.sum_);
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void LatencyHistogram::reset() noexcept { *this = LatencyHistogram(); }

int64_t LatencyHistogram::percentile(double p) const noexcept {
  if (count_ == 0) return 0;
  if (!(p > 0.0)) p = 0.0;  // also NaN
  if (p > 100.0) p = 100.0;
  // p * count / 100 rather than p / 100 * count: exact for the usual
  // percentiles (99.9 %, 99.99 %) and counts, so ranks do not drift up by one.
  const double wanted = std::ceil(p * static_cast<double>(count_) / 100.0);
  uint64_t rank = wanted < 1.0 ? 1 : static_cast<uint64_t>(wanted);
  if (wanted >= static_cast<double>(count_)) rank = count_;

  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(bucket_upper(i), min_, max_);
  }
  return max_;  // the rank lies among the overflow samples
}

nlohmann::json to_json(const LatencyHistogram& h) {
  nlohmann::json buckets = nlohmann::json::array();
  h.for_each_nonempty([&](int64_t lower, int64_t upper, uint64_t count) {
    buckets.push_back(nlohmann::json::array({lower, upper, count}));
  });
  return nlohmann::json{
      {"unit", "ns"},   {"count", h.count()}, {"overflow", h.overflow()},     {"min", h.min()},
      {"max", h.max()}, {"sum", h.sum()},     {"buckets", std::move(buckets)}};
}

namespace {

constexpr uint64_t kInt64Max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

bool fail(std::string* error, std::string message) {
  if (error) *error = "histogram JSON: " + std::move(message);
  return false;
}

// Reads a non-negative integer no larger than `limit`. Floats (even 5.0),
// booleans, strings and negative numbers are rejected.
bool read_uint(const nlohmann::json& v, uint64_t limit, std::string_view what, uint64_t* out,
               std::string* error) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
  } else if (v.is_number_integer()) {
    const auto s = v.get<int64_t>();
    if (s < 0) return fail(error, fmt::format("{} is negative ({})", what, s));
    *out = static_cast<uint64_t>(s);
  } else {
    const char* got = v.is_number_float() ? "a non-integer or out-of-range number" : v.type_name();
    return fail(error, fmt::format("{} must be a non-negative integer, got {}", what, got));
  }
  if (*out > limit) return fail(error, fmt::format("{} is too large ({} > {})", what, *out, limit));
  return true;
}

bool read_field(const nlohmann::json& j, const char* key, uint64_t limit, uint64_t* out,
                std::string* error) {
  const auto it = j.find(key);
  if (it == j.end()) return fail(error, fmt::format("missing field \"{}\"", key));
  return read_uint(*it, limit, fmt::format("\"{}\"", key), out, error);
}

}  // namespace

class HistogramJsonReader {
 public:
  static bool parse(const nlohmann::json& j, LatencyHistogram* out, std::string* error);
};

// The checks below make every json access type-safe; the try block only
// turns an unforeseen exception (bad_alloc) into a failed parse.
bool from_json(const nlohmann::json& j, LatencyHistogram* out, std::string* error) {
  try {
    return HistogramJsonReader::parse(j, out, error);
  } catch (const std::exception& e) {
    if (error) *error = std::string("histogram JSON: ") + e.what();
    return false;
  }
}

bool HistogramJsonReader::parse(const nlohmann::json& j, LatencyHistogram* out,
                                std::string* error) {
  using H = LatencyHistogram;
  if (out == nullptr) return fail(error, "no output histogram");
  if (!j.is_object()) return fail(error, fmt::format("expected an object, got {}", j.type_name()));

  const auto unit = j.find("unit");
  if (unit == j.end()) return fail(error, "missing field \"unit\"");
  if (!unit->is_string() || unit->get_ref<const std::string&>() != "ns") {
    return fail(error, "\"unit\" must be \"ns\"");
  }

  uint64_t count, overflow, min, max, sum;
  if (!read_field(j, "count", std::numeric_limits<uint64_t>::max(), &count, error) ||
      !read_field(j, "overflow", count, &overflow, error) ||
      !read_field(j, "min", kInt64Max, &min, error) ||
      !read_field(j, "max", kInt64Max, &max, error) ||
      !read_field(j, "sum", kInt64Max, &sum, error)) {
    return false;
  }

  const auto buckets = j.find("buckets");
  if (buckets == j.end()) return fail(error, "missing field \"buckets\"");
  if (!buckets->is_array()) {
    return fail(error, fmt::format("\"buckets\" must be an array, got {}", buckets->type_name()));
  }
  if (buckets->size() > H::kBucketCount) {
    return fail(error, fmt::format("\"buckets\" has {} entries, more than the {} buckets",
                                   buckets->size(), H::kBucketCount));
  }

  // Built aside so that *out stays untouched on failure.
  auto h = std::make_unique<H>();
  h->counts_[H::kOverflowIndex] = overflow;
  uint64_t total = overflow;
  size_t first = H::kOverflowIndex, last = 0;
  bool any = false;
  for (size_t k = 0; k < buckets->size(); ++k) {
    const nlohmann::json& b = (*buckets)[k];
    if (!b.is_array() || b.size() != 3) {
      return fail(error, fmt::format("bucket #{} must be [lower, upper, count]", k));
    }
    uint64_t lower, upper, n;
    const std::string where = fmt::format("bucket #{}", k);
    if (!read_uint(b[0], kInt64Max, where + " lower", &lower, error) ||
        !read_uint(b[1], kInt64Max, where + " upper", &upper, error) ||
        !read_uint(b[2], std::numeric_limits<uint64_t>::max(), where + " count", &n, error)) {
      return false;
    }
    const size_t i = H::bucket_index(static_cast<int64_t>(lower));
    if (i == H::kOverflowIndex || H::bucket_lower(i) != static_cast<int64_t>(lower) ||
        H::bucket_upper(i) != static_cast<int64_t>(upper)) {
      return fail(error,
                  fmt::format("{} [{}, {}] is not a bucket of this layout", where, lower, upper));
    }
    if (any && i <= last) {
      return fail(error,
                  fmt::format("{} [{}, {}] is out of order or repeated", where, lower, upper));
    }
    if (n == 0)
      return fail(error, fmt::format("{} is empty; only non-empty buckets are listed", where));
    if (__builtin_add_overflow(total, n, &total)) {
      return fail(error, "bucket counts overflow a 64-bit total");
    }
    h->counts_[i] = n;
    if (!any) first = i;
    last = i;
    any = true;
  }
  if (total != count) {
    return fail(error, fmt::format("bucket counts plus overflow add up to {}, but \"count\" is {}",
                                   total, count));
  }

  if (count == 0) {
    if (min != 0 || max != 0 || sum != 0) {
      return fail(error, "an empty histogram must have min, max and sum 0");
    }
    *out = *h;
    return true;
  }

  // min and max lie in the lowest and highest occupied slot (overflow counts
  // as the slot above every bucket).
  if (overflow != 0) last = H::kOverflowIndex;
  if (min > max) return fail(error, fmt::format("\"min\" {} is above \"max\" {}", min, max));
  if (H::bucket_index(static_cast<int64_t>(min)) != first) {
    return fail(error, fmt::format("\"min\" {} is not in the lowest occupied bucket", min));
  }
  if (H::bucket_index(static_cast<int64_t>(max)) != last) {
    return fail(error, fmt::format("\"max\" {} is not in the highest occupied bucket", max));
  }
  // count * min <= sum <= count * max, where sum saturates at INT64_MAX.
  using u128 = unsigned __int128;
  const u128 lowest = std::min<u128>(u128{count} * min, kInt64Max);
  const u128 highest = u128{count} * max;
  if (sum < lowest || sum > highest) {
    return fail(error, fmt::format("\"sum\" {} is outside count*min .. count*max", sum));
  }

  h->count_ = count;
  h->sum_ = static_cast<int64_t>(sum);
  h->min_ = static_cast<int64_t>(min);
  h->max_ = static_cast<int64_t>(max);
  *out = *h;
  return true;
}

}  // namespace pb
