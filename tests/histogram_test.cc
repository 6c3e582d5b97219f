#include "pb/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using pb::LatencyHistogram;
using json = nlohmann::json;

constexpr int64_t kMaxTrackable = LatencyHistogram::kMaxTrackableNs;
constexpr double kPercentiles[] = {0, 1, 50, 90, 99, 99.9, 99.99, 100};

// The histograms are ~30 KiB; keep them off the test thread's stack.
std::unique_ptr<LatencyHistogram> make() { return std::make_unique<LatencyHistogram>(); }

// Exact nearest-rank percentile of sorted samples, same rank rule as the
// histogram's contract.
int64_t exact_percentile(const std::vector<int64_t>& sorted, double p) {
  const double wanted = std::ceil(p * static_cast<double>(sorted.size()) / 100.0);
  size_t rank = wanted < 1.0 ? 1 : static_cast<size_t>(wanted);
  rank = std::min(rank, sorted.size());
  return sorted[rank - 1];
}

// Deterministic generators built on mt19937_64's raw output only (its
// sequence is fixed by the standard; the std distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  // Uniform in [lo, hi].
  int64_t uniform(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(gen_() % static_cast<uint64_t>(hi - lo + 1));
  }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }
  // Log-uniform in [lo, hi].
  int64_t log_uniform(double lo, double hi) {
    return static_cast<int64_t>(std::exp(std::log(lo) + unit() * (std::log(hi) - std::log(lo))));
  }

 private:
  std::mt19937_64 gen_;
};

void expect_accurate(const std::vector<int64_t>& samples) {
  auto h = make();
  for (int64_t v : samples) h->record(v);
  std::vector<int64_t> sorted = samples;
  std::sort(sorted.begin(), sorted.end());

  ASSERT_EQ(h->count(), sorted.size());
  EXPECT_EQ(h->min(), sorted.front());
  EXPECT_EQ(h->max(), sorted.back());
  int64_t sum = 0;
  for (int64_t v : sorted) sum += v;
  EXPECT_EQ(h->sum(), sum);
  EXPECT_DOUBLE_EQ(h->mean(), static_cast<double>(sum) / static_cast<double>(sorted.size()));

  for (double p : kPercentiles) {
    const int64_t exact = exact_percentile(sorted, p);
    const int64_t got = h->percentile(p);
    EXPECT_LE(got, sorted.back()) << "p" << p;
    EXPECT_GE(got, sorted.front()) << "p" << p;
    if (exact <= kMaxTrackable) {
      // Never below the exact value, at most 1 % above it.
      EXPECT_GE(got, exact) << "p" << p;
      EXPECT_LE(static_cast<double>(got - exact), 0.01 * static_cast<double>(exact)) << "p" << p;
    } else {
      EXPECT_EQ(got, sorted.back()) << "p" << p << " falls among overflow samples";
    }
  }
}

// --- layout ------------------------------------------------------------------

TEST(HistogramLayout, FitsInSixtyFourKiB) {
  EXPECT_LE(sizeof(LatencyHistogram), 64u * 1024u);
  EXPECT_EQ(LatencyHistogram::kBucketCount, 3840u);
  EXPECT_EQ(kMaxTrackable, (int64_t{1} << 36) - 1);
  EXPECT_GE(kMaxTrackable, int64_t{60} * 1'000'000'000);
}

TEST(HistogramLayout, BucketsTileTheRangeWithBoundedWidth) {
  int64_t expected_lower = 0;
  for (size_t i = 0; i < LatencyHistogram::kBucketCount; ++i) {
    const int64_t lower = LatencyHistogram::bucket_lower(i);
    const int64_t upper = LatencyHistogram::bucket_upper(i);
    ASSERT_EQ(lower, expected_lower) << "bucket " << i;
    ASSERT_LE(lower, upper) << "bucket " << i;
    ASSERT_EQ(LatencyHistogram::bucket_index(lower), i);
    ASSERT_EQ(LatencyHistogram::bucket_index(upper), i);
    if (lower < 256) {
      ASSERT_EQ(lower, upper) << "values below 256 are exact";
    } else {
      ASSERT_LE((upper - lower + 1) * 128, lower) << "bucket " << i << " wider than 1/128";
    }
    expected_lower = upper + 1;
  }
  EXPECT_EQ(expected_lower, kMaxTrackable + 1);
}

TEST(HistogramLayout, BucketIndexOfBoundaryValues) {
  EXPECT_EQ(LatencyHistogram::bucket_index(-5), 0u);
  EXPECT_EQ(LatencyHistogram::bucket_index(0), 0u);
  EXPECT_EQ(LatencyHistogram::bucket_index(255), 255u);
  EXPECT_EQ(LatencyHistogram::bucket_index(256), 256u);
  EXPECT_EQ(LatencyHistogram::bucket_index(257), 256u);  // [256, 257]
  EXPECT_EQ(LatencyHistogram::bucket_index(258), 257u);
  EXPECT_EQ(LatencyHistogram::bucket_index(kMaxTrackable), LatencyHistogram::kBucketCount - 1);
  EXPECT_EQ(LatencyHistogram::bucket_index(kMaxTrackable + 1), LatencyHistogram::kOverflowIndex);
  EXPECT_EQ(LatencyHistogram::bucket_index(std::numeric_limits<int64_t>::max()),
            LatencyHistogram::kOverflowIndex);
}

// --- recording -----------------------------------------------------------------

TEST(HistogramRecord, EmptyHistogramReportsZeros) {
  auto h = make();
  EXPECT_EQ(h->count(), 0u);
  EXPECT_EQ(h->overflow(), 0u);
  EXPECT_EQ(h->min(), 0);
  EXPECT_EQ(h->max(), 0);
  EXPECT_EQ(h->sum(), 0);
  EXPECT_EQ(h->mean(), 0.0);
  for (double p : kPercentiles) EXPECT_EQ(h->percentile(p), 0);
}

TEST(HistogramRecord, BoundaryValues) {
  for (int64_t v :
       {int64_t{0}, int64_t{1}, int64_t{255}, int64_t{256}, int64_t{257}, kMaxTrackable}) {
    auto h = make();
    h->record(v);
    EXPECT_EQ(h->count(), 1u) << v;
    EXPECT_EQ(h->overflow(), 0u) << v;
    EXPECT_EQ(h->min(), v);
    EXPECT_EQ(h->max(), v);
    EXPECT_EQ(h->sum(), v);
    EXPECT_EQ(h->bucket_count(LatencyHistogram::bucket_index(v)), 1u) << v;
    // A single sample: every percentile is that exact value (clamped to min/max).
    for (double p : kPercentiles) EXPECT_EQ(h->percentile(p), v) << v << " p" << p;
  }
}

TEST(HistogramRecord, LargestPlusOneGoesToOverflowAndStillCounts) {
  auto h = make();
  h->record(100);
  h->record(kMaxTrackable + 1);
  EXPECT_EQ(h->count(), 2u);
  EXPECT_EQ(h->overflow(), 1u);
  EXPECT_EQ(h->min(), 100);
  EXPECT_EQ(h->max(), kMaxTrackable + 1);
  EXPECT_EQ(h->sum(), kMaxTrackable + 101);
  uint64_t in_buckets = 0;
  h->for_each_nonempty([&](int64_t, int64_t, uint64_t n) { in_buckets += n; });
  EXPECT_EQ(in_buckets, 1u);
  EXPECT_EQ(h->percentile(50), 100);
  EXPECT_EQ(h->percentile(100), kMaxTrackable + 1);  // rank among overflow: max()
}

TEST(HistogramRecord, NegativeIsClampedToZero) {
  auto h = make();
  h->record(-1);
  h->record(std::numeric_limits<int64_t>::min());
  EXPECT_EQ(h->count(), 2u);
  EXPECT_EQ(h->bucket_count(0), 2u);
  EXPECT_EQ(h->min(), 0);
  EXPECT_EQ(h->max(), 0);
  EXPECT_EQ(h->sum(), 0);
}

TEST(HistogramRecord, SmallValuesAreExact) {
  auto h = make();
  for (int64_t v = 0; v < 256; ++v) h->record(v);
  for (int64_t v = 0; v < 256; ++v) {
    // Rank v+1 of 256 samples.
    EXPECT_EQ(h->percentile(100.0 * static_cast<double>(v + 1) / 256.0), v);
  }
}

TEST(HistogramRecord, RecordNEqualsRepeatedRecord) {
  auto a = make();
  auto b = make();
  for (int64_t v : {int64_t{3}, int64_t{700}, int64_t{123'456'789}, kMaxTrackable + 5}) {
    a->record_n(v, 7);
    for (int i = 0; i < 7; ++i) b->record(v);
  }
  a->record_n(1'000'000, 0);  // records nothing, min/max untouched
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->min(), 3);
}

TEST(HistogramRecord, SumSaturatesInsteadOfOverflowing) {
  auto h = make();
  h->record(std::numeric_limits<int64_t>::max());
  h->record(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(h->sum(), std::numeric_limits<int64_t>::max());
  h->record_n(std::numeric_limits<int64_t>::max() / 2, 1000);
  EXPECT_EQ(h->sum(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(h->count(), 1002u);
  EXPECT_EQ(h->overflow(), 1002u);
}

TEST(HistogramRecord, PercentileArgumentIsClamped) {
  auto h = make();
  for (int64_t v = 1; v <= 100; ++v) h->record(v);
  EXPECT_EQ(h->percentile(-5), 1);
  EXPECT_EQ(h->percentile(std::nan("")), 1);
  EXPECT_EQ(h->percentile(250), 100);
  EXPECT_EQ(h->percentile(50), 50);
  EXPECT_EQ(h->percentile(50.5), 51);
}

// --- accuracy against exact sorted samples -----------------------------------------

TEST(HistogramAccuracy, Uniform) {
  Rng rng(1);
  std::vector<int64_t> s(200'000);
  for (auto& v : s) v = rng.uniform(0, 2'000'000);
  expect_accurate(s);
}

TEST(HistogramAccuracy, UniformSmall) {
  Rng rng(2);
  std::vector<int64_t> s(100'000);
  for (auto& v : s) v = rng.uniform(0, 1000);
  expect_accurate(s);
}

TEST(HistogramAccuracy, LogUniformOneNanosecondToSixtySeconds) {
  Rng rng(3);
  std::vector<int64_t> s(200'000);
  for (auto& v : s) v = rng.log_uniform(1.0, 60e9);
  expect_accurate(s);
}

TEST(HistogramAccuracy, BimodalWithRareHugeOutliers) {
  Rng rng(4);
  std::vector<int64_t> s(200'000);
  for (auto& v : s) {
    const double u = rng.unit();
    if (u < 0.0005) {
      v = rng.uniform(1'000'000'000, 60'000'000'000);  // 1..60 s stalls
    } else if (u < 0.2) {
      v = rng.uniform(40'000, 60'000);  // slow path
    } else {
      v = rng.uniform(1'500, 3'000);  // fast path
    }
  }
  expect_accurate(s);
}

TEST(HistogramAccuracy, OutliersBeyondTheTrackableRange) {
  Rng rng(5);
  std::vector<int64_t> s(50'000);
  for (auto& v : s) {
    v = rng.unit() < 0.01 ? rng.uniform(kMaxTrackable + 1, int64_t{1} << 40)
                          : rng.uniform(0, 10'000);
  }
  expect_accurate(s);
}

// --- merge and reset -----------------------------------------------------------------

TEST(HistogramMerge, EqualsRecordingEverythingIntoOne) {
  Rng rng(6);
  auto a = make();
  auto b = make();
  auto all = make();
  for (int i = 0; i < 50'000; ++i) {
    const int64_t v = rng.log_uniform(1.0, 1e11);  // some overflow too
    (i % 3 == 0 ? *a : *b).record(v);
    all->record(v);
  }
  auto merged = make();
  merged->merge(*a);
  merged->merge(*b);
  EXPECT_EQ(*merged, *all);
  EXPECT_GT(all->overflow(), 0u);
  for (double p : kPercentiles) EXPECT_EQ(merged->percentile(p), all->percentile(p));
}

TEST(HistogramMerge, EmptyIsNeutral) {
  auto h = make();
  h->record(500);
  h->record(9);
  const auto before = std::make_unique<LatencyHistogram>(*h);
  h->merge(LatencyHistogram());
  EXPECT_EQ(*h, *before);
  auto empty = make();
  empty->merge(*h);
  EXPECT_EQ(*empty, *h);
  EXPECT_EQ(empty->min(), 9);
}

TEST(HistogramReset, ReturnsToEmpty) {
  auto h = make();
  for (int64_t v : {int64_t{1}, int64_t{1000}, kMaxTrackable + 1}) h->record(v);
  h->reset();
  EXPECT_EQ(*h, LatencyHistogram());
  EXPECT_EQ(h->count(), 0u);
  EXPECT_EQ(h->overflow(), 0u);
  EXPECT_EQ(h->min(), 0);
  EXPECT_EQ(h->max(), 0);
  EXPECT_EQ(h->percentile(50), 0);
  h->record(42);
  EXPECT_EQ(h->min(), 42);
  EXPECT_EQ(h->max(), 42);
}

// --- JSON ------------------------------------------------------------------------------

std::unique_ptr<LatencyHistogram> sample_histogram() {
  Rng rng(7);
  auto h = make();
  for (int i = 0; i < 20'000; ++i) h->record(rng.log_uniform(1.0, 1e11));
  h->record(0);
  return h;
}

TEST(HistogramJson, ShapeOfOutput) {
  auto h = make();
  h->record(5);
  h->record(5);
  h->record(300);
  h->record(kMaxTrackable + 1);
  const json j = pb::to_json(*h);
  EXPECT_EQ(j["unit"], "ns");
  EXPECT_EQ(j["count"], 4);
  EXPECT_EQ(j["overflow"], 1);
  EXPECT_EQ(j["min"], 5);
  EXPECT_EQ(j["max"], kMaxTrackable + 1);
  EXPECT_EQ(j["sum"], kMaxTrackable + 1 + 310);
  EXPECT_EQ(j["buckets"], json::parse("[[5,5,2],[300,301,1]]"));
}

TEST(HistogramJson, RoundTripThroughTextEqualsOriginal) {
  const auto h = sample_histogram();
  ASSERT_GT(h->overflow(), 0u);
  const std::string text = pb::to_json(*h).dump();
  auto back = make();
  std::string error;
  ASSERT_TRUE(pb::from_json(json::parse(text), back.get(), &error)) << error;
  EXPECT_EQ(back->count(), h->count());
  EXPECT_EQ(back->overflow(), h->overflow());
  EXPECT_EQ(back->min(), h->min());
  EXPECT_EQ(back->max(), h->max());
  EXPECT_EQ(back->sum(), h->sum());
  for (size_t i = 0; i < LatencyHistogram::kBucketCount; ++i) {
    ASSERT_EQ(back->bucket_count(i), h->bucket_count(i)) << "bucket " << i;
  }
  for (double p : kPercentiles) EXPECT_EQ(back->percentile(p), h->percentile(p));
  EXPECT_EQ(*back, *h);
}

TEST(HistogramJson, RoundTripOfEmptyAndInMemoryValues) {
  auto empty = make();
  auto back = make();
  back->record(1);
  std::string error;
  ASSERT_TRUE(pb::from_json(pb::to_json(*empty), back.get(), &error)) << error;
  EXPECT_EQ(*back, *empty);
  // Built in memory (signed integers), not parsed from text.
  const auto h = sample_histogram();
  ASSERT_TRUE(pb::from_json(pb::to_json(*h), back.get(), &error)) << error;
  EXPECT_EQ(*back, *h);
}

struct BadCase {
  const char* name;
  const char* expected_message;  // a substring of the error
  json doc;
};

json valid_doc() {
  auto h = make();
  h->record(5);
  h->record(300);
  h->record(kMaxTrackable + 1);
  return pb::to_json(*h);  // count 3, overflow 1, buckets [[5,5,1],[300,301,1]]
}

json with(const char* key, json value) {
  json j = valid_doc();
  j[key] = std::move(value);
  return j;
}

json without(const char* key) {
  json j = valid_doc();
  j.erase(key);
  return j;
}

std::vector<BadCase> bad_cases() {
  const uint64_t u64max = std::numeric_limits<uint64_t>::max();
  return {
      {"not an object", "expected an object", json::array({1, 2, 3})},
      {"null", "expected an object", json()},
      {"missing unit", "missing field \"unit\"", without("unit")},
      {"wrong unit", "\"unit\" must be \"ns\"", with("unit", "us")},
      {"unit not a string", "\"unit\" must be \"ns\"", with("unit", 1)},
      {"missing count", "missing field \"count\"", without("count")},
      {"missing overflow", "missing field \"overflow\"", without("overflow")},
      {"missing min", "missing field \"min\"", without("min")},
      {"missing max", "missing field \"max\"", without("max")},
      {"missing sum", "missing field \"sum\"", without("sum")},
      {"missing buckets", "missing field \"buckets\"", without("buckets")},
      {"count is a string", "\"count\" must be a non-negative integer, got string",
       with("count", "3")},
      {"count is a float", "\"count\" must be a non-negative integer, got a non-integer",
       with("count", 3.0)},
      {"count is a bool", "\"count\" must be a non-negative integer, got boolean",
       with("count", true)},
      {"count is huge (parsed as float)",
       "\"count\" must be a non-negative integer, got a non-integer or out-of-range",
       json::parse(
           R"({"unit":"ns","count":1e30,"overflow":0,"min":0,"max":0,"sum":0,"buckets":[]})")},
      {"min negative", "\"min\" is negative", with("min", -1)},
      {"max above int64", "\"max\" is too large", with("max", u64max)},
      {"sum above int64", "\"sum\" is too large", with("sum", uint64_t{1} << 63)},
      {"overflow above count", "\"overflow\" is too large", with("overflow", 4)},
      {"buckets not an array", "\"buckets\" must be an array", with("buckets", json::object())},
      {"bucket not a triple", "bucket #1 must be [lower, upper, count]",
       with("buckets", json::parse("[[5,5,1],[300,301]]"))},
      {"bucket not an array", "bucket #1 must be [lower, upper, count]",
       with("buckets", json::parse("[[5,5,1],7]"))},
      {"bucket count negative", "bucket #1 count is negative",
       with("buckets", json::parse("[[5,5,1],[300,301,-1]]"))},
      {"bucket bound a float", "bucket #1 lower must be a non-negative integer",
       with("buckets", json::parse("[[5,5,1],[300.0,301,1]]"))},
      {"bounds not a bucket", "bucket #1 [300, 302] is not a bucket",
       with("buckets", json::parse("[[5,5,1],[300,302,1]]"))},
      {"lower not a bucket start", "bucket #1 [301, 301] is not a bucket",
       with("buckets", json::parse("[[5,5,1],[301,301,1]]"))},
      {"bucket beyond range", "is not a bucket",
       json::parse(
           R"({"unit":"ns","count":1,"overflow":0,"min":68719476736,"max":68719476736,
               "sum":68719476736,"buckets":[[68719476736,68719476736,1]]})")},
      {"buckets out of order", "out of order or repeated",
       with("buckets", json::parse("[[300,301,1],[5,5,1]]"))},
      {"bucket repeated", "out of order or repeated",
       with("buckets", json::parse("[[5,5,1],[5,5,1]]"))},
      {"empty bucket listed", "bucket #1 is empty",
       with("buckets", json::parse("[[5,5,1],[6,6,0],[300,301,1]]"))},
      {"counts do not add up", "add up to 3, but \"count\" is 4", with("count", 4)},
      {"counts overflow 64 bits", "overflow a 64-bit total",
       json{{"unit", "ns"},
            {"count", u64max},
            {"overflow", 0},
            {"min", 5},
            {"max", 300},
            {"sum", 305},
            {"buckets", json::parse("[[5,5,18446744073709551615],[300,301,1]]")}}},
      {"too many buckets", "more than the 3840 buckets",
       with("buckets", json(std::vector<json>(5000, json::array({1, 1, 1}))))},
      {"min above max", "is above", with("min", kMaxTrackable + 2)},
      {"min not in lowest bucket", "\"min\" 6 is not in the lowest occupied bucket",
       with("min", 6)},
      {"max not in overflow", "\"max\" 301 is not in the highest occupied bucket",
       with("max", 301)},
      {"sum too small", "\"sum\" 10 is outside", with("sum", 10)},
      {"sum too large", "is outside count*min .. count*max",
       with("sum", std::numeric_limits<int64_t>::max())},
      {"empty with nonzero min", "empty histogram must have min, max and sum 0",
       json::parse(R"({"unit":"ns","count":0,"overflow":0,"min":5,"max":0,"sum":0,"buckets":[]})")},
  };
}

TEST(HistogramJson, ValidDocumentParses) {
  auto h = make();
  std::string error;
  EXPECT_TRUE(pb::from_json(valid_doc(), h.get(), &error)) << error;
  EXPECT_EQ(h->count(), 3u);
}

TEST(HistogramJson, RejectsEachKindOfBadInputWithAMessage) {
  for (const BadCase& c : bad_cases()) {
    auto h = make();
    h->record(77);
    const auto before = std::make_unique<LatencyHistogram>(*h);
    std::string error;
    bool ok = true;
    EXPECT_NO_THROW(ok = pb::from_json(c.doc, h.get(), &error)) << c.name;
    EXPECT_FALSE(ok) << c.name;
    EXPECT_EQ(error.rfind("histogram JSON: ", 0), 0u) << c.name << ": " << error;
    EXPECT_NE(error.find(c.expected_message), std::string::npos) << c.name << ": " << error;
    EXPECT_EQ(*h, *before) << c.name << ": output must stay unchanged";
    // No error sink: still just false.
    EXPECT_FALSE(pb::from_json(c.doc, h.get(), nullptr)) << c.name;
  }
}

TEST(HistogramJson, NullOutputIsAnError) {
  std::string error;
  EXPECT_FALSE(pb::from_json(valid_doc(), nullptr, &error));
  EXPECT_FALSE(error.empty());
}

// Deterministic mutation of every field into every JSON type: never throws,
// and anything accepted is exactly what to_json() writes back.
TEST(HistogramJson, MutatedDocumentsNeverThrow) {
  auto small = make();
  Rng rng(8);
  for (int i = 0; i < 300; ++i) small->record(rng.log_uniform(1.0, 1e11));
  const json base = pb::to_json(*small);
  const std::vector<json> values = {
      json(),
      json(true),
      json(-1),
      json(0),
      json(1),
      json(3.5),
      json("x"),
      json(std::numeric_limits<uint64_t>::max()),
      json(std::numeric_limits<int64_t>::min()),
      json::array(),
      json::object(),
      json::array({json::array({1, 1})}),
      json::array({json::array({256, 257, 1})}),
  };
  auto h = make();
  size_t rejected = 0;
  const auto check = [&](const json& doc) {
    std::string error;
    bool ok = false;
    EXPECT_NO_THROW(ok = pb::from_json(doc, h.get(), &error)) << doc.dump();
    if (ok) {
      EXPECT_EQ(pb::to_json(*h), doc) << "accepted only if it round-trips";
    } else {
      EXPECT_FALSE(error.empty());
      ++rejected;
    }
  };
  for (const char* key : {"unit", "count", "overflow", "min", "max", "sum", "buckets"}) {
    for (const json& v : values) {
      json doc = base;
      doc[key] = v;
      check(doc);
    }
  }
  // Mutate single bucket entries too.
  for (size_t k = 0; k < base["buckets"].size(); k += 7) {
    for (size_t f = 0; f < 3; ++f) {
      for (const json& v : values) {
        json doc = base;
        doc["buckets"][k][f] = v;
        check(doc);
      }
    }
  }
  EXPECT_GT(rejected, 100u);
}

}  // namespace
