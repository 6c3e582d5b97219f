// The latency histogram every tool in the suite records into.
//
// Layout (log-linear, fixed at compile time): values 0..255 ns each have their
// own 1 ns bucket; above that every power of two [2^e, 2^(e+1)) is split into
// 128 equal sub-buckets, so a bucket's width is at most 1/128 (< 1 %) of its
// lower bound. The largest trackable value is kMaxTrackableNs = 2^36 - 1 ns
// (~68.7 s). Larger values are counted in overflow(), never dropped: they
// still take part in count(), min(), max(), sum() and mean().
//
// Memory: all storage is inside the object (~30 KiB), so a histogram is
// allocated once, before a measurement starts (before mlockall and RT
// scheduling), and recording never allocates, locks or throws.
//
// Concurrency: SINGLE WRITER. The recording thread owns its histogram; nobody
// reads it while that thread records. Readers (percentiles, merge into a
// total, JSON) run after the writer has stopped and the hand-over was
// synchronised (thread join, futex, or an acquire/release pair). For several
// recording threads, give each its own histogram and merge() them afterwards.
//
// Percentiles use the nearest-rank definition and report the inclusive upper
// bound of the bucket holding that rank, clamped into [min(), max()]: a
// percentile never exceeds the exact maximum, never falls below the exact
// minimum, and is within 1/128 (relative) above the exact sample value.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace pb {

class LatencyHistogram {
 public:
  // Values below kExactLimitNs each have their own bucket.
  static constexpr int64_t kExactLimitNs = 256;
  // Sub-buckets per power of two above kExactLimitNs.
  static constexpr int kSubBucketBits = 7;
  static constexpr size_t kSubBuckets = size_t{1} << kSubBucketBits;  // 128
  // Largest value that lands in a bucket; larger values count as overflow.
  static constexpr int kMaxTrackableBits = 36;
  static constexpr int64_t kMaxTrackableNs = (int64_t{1} << kMaxTrackableBits) - 1;
  // 256 exact buckets + 128 for each power of two 2^8 .. 2^35.
  static constexpr size_t kBucketCount =
      static_cast<size_t>(kExactLimitNs) +
      kSubBuckets * static_cast<size_t>(kMaxTrackableBits - 8);  // 3840
  // bucket_index() of every value above kMaxTrackableNs.
  static constexpr size_t kOverflowIndex = kBucketCount;

  // An empty histogram. Never allocates.
  LatencyHistogram() noexcept = default;

  // Records one sample of `ns` nanoseconds; negative values count as 0.
  // Safe on a real-time path: no allocation, lock, system call or exception
  // (cost: pb-micro's histogram_record).
  void record(int64_t ns) noexcept {
    const int64_t v = ns > 0 ? ns : 0;
    ++counts_[bucket_index_of_nonnegative(v)];
    ++count_;
    sum_ = saturating_add(sum_, v);
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }

  // Records `n` samples of `ns` nanoseconds at once; n == 0 records nothing.
  void record_n(int64_t ns, uint64_t n) noexcept {
    if (n == 0) return;
    const int64_t v = ns > 0 ? ns : 0;
    counts_[bucket_index_of_nonnegative(v)] += n;
    count_ += n;
    int64_t product;
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        __builtin_mul_overflow(v, static_cast<int64_t>(n), &product)) {
      product = v == 0 ? 0 : std::numeric_limits<int64_t>::max();
    }
    sum_ = saturating_add(sum_, product);
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }

  // Adds every sample of `other` to this histogram, as if they had been
  // recorded here. REQUIRES: `other`'s writer has stopped.
  void merge(const LatencyHistogram& other) noexcept;

  // Back to the empty state; no allocation.
  void reset() noexcept;

  // All samples, overflow included.
  uint64_t count() const noexcept { return count_; }
  // Samples above kMaxTrackableNs.
  uint64_t overflow() const noexcept { return counts_[kOverflowIndex]; }
  // Exact smallest / largest sample; 0 when empty.
  int64_t min() const noexcept { return count_ == 0 ? 0 : min_; }
  int64_t max() const noexcept { return max_; }
  // Exact sum of all samples; saturates at INT64_MAX (~292 years).
  int64_t sum() const noexcept { return sum_; }
  // sum() / count(); 0 when empty.
  double mean() const noexcept {
    return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
  }

  // Nearest-rank percentile, p in [0, 100] (values outside are clamped, NaN
  // counts as 0): rank = max(1, ceil(p / 100 * count())); returns the upper
  // bound of the bucket holding that rank clamped into [min(), max()], or
  // max() when the rank falls among the overflow samples. 0 when empty.
  int64_t percentile(double p) const noexcept;

  // --- bucket access, for reporters ----------------------------------------

  // Index of the bucket holding `ns` (negative counts as 0), or
  // kOverflowIndex when ns > kMaxTrackableNs.
  static constexpr size_t bucket_index(int64_t ns) noexcept {
    return bucket_index_of_nonnegative(ns > 0 ? ns : 0);
  }
  // Inclusive bounds of bucket `i`. REQUIRES: i < kBucketCount.
  static constexpr int64_t bucket_lower(size_t i) noexcept {
    if (i < kSubBuckets) return static_cast<int64_t>(i);
    const int shift = static_cast<int>(i >> kSubBucketBits) - 1;
    return static_cast<int64_t>((i & (kSubBuckets - 1)) | kSubBuckets) << shift;
  }
  static constexpr int64_t bucket_upper(size_t i) noexcept {
    const int shift = i < 2 * kSubBuckets ? 0 : static_cast<int>(i >> kSubBucketBits) - 1;
    return bucket_lower(i) + (int64_t{1} << shift) - 1;
  }
  // Samples in bucket `i`. REQUIRES: i < kBucketCount (overflow(): the rest).
  uint64_t bucket_count(size_t i) const noexcept { return counts_[i]; }

  // Calls f(int64_t lower, int64_t upper, uint64_t count) for every non-empty
  // bucket in ascending order. Overflow samples are not visited; see
  // overflow().
  template <typename F>
  void for_each_nonempty(F&& f) const {
    for (size_t i = 0; i < kBucketCount; ++i) {
      if (counts_[i] != 0) f(bucket_lower(i), bucket_upper(i), counts_[i]);
    }
  }

  // Same samples, same state.
  bool operator==(const LatencyHistogram&) const = default;

 private:
  friend class HistogramJsonReader;  // from_json(), in histogram.cc

  // Branch-free: values below 256 map to themselves; from 2^e up, the top 8
  // significant bits select the sub-bucket of octave e.
  static constexpr size_t bucket_index_of_nonnegative(int64_t v) noexcept {
    const auto u = static_cast<uint64_t>(v);
    const int shift = static_cast<int>(std::bit_width(u | 0xff)) - 8;
    const size_t index =
        (static_cast<size_t>(shift) << kSubBucketBits) + static_cast<size_t>(u >> shift);
    return v > kMaxTrackableNs ? kOverflowIndex : index;
  }
  static int64_t saturating_add(int64_t a, int64_t b) noexcept {
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<int64_t>::max() : r;
  }

  // counts_[kOverflowIndex] holds the overflow count, so recording an
  // overflowing value needs no branch.
  std::array<uint64_t, kBucketCount + 1> counts_{};
  uint64_t count_ = 0;
  int64_t sum_ = 0;
  int64_t min_ = std::numeric_limits<int64_t>::max();  // sentinel while empty
  int64_t max_ = 0;
};

// The whole histogram lives inline; keep it small enough to embed per thread.
static_assert(sizeof(LatencyHistogram) <= 64 * 1024, "LatencyHistogram must stay <= 64 KiB");
static_assert(LatencyHistogram::bucket_upper(LatencyHistogram::kBucketCount - 1) ==
                  LatencyHistogram::kMaxTrackableNs,
              "the last bucket must end at the largest trackable value");

// JSON form (include <nlohmann/json.hpp> to use it):
//   {"unit":"ns","count":N,"overflow":N,"min":N,"max":N,"sum":N,
//    "buckets":[[lower,upper,count],...]}   // non-empty buckets, ascending
nlohmann::json to_json(const LatencyHistogram& h);

// Parses the form to_json() writes. On success replaces *out and returns
// true. On malformed or inconsistent input (wrong types, negative or
// out-of-range numbers, bounds that are not a bucket, buckets out of order,
// counts that do not add up, min/max/sum that contradict the buckets) returns
// false with a message in *error (when non-null) and leaves *out unchanged.
// Keys other than the ones above are ignored, so a reporter may add its own
// (percentiles, labels) beside them. Never throws.
bool from_json(const nlohmann::json& j, LatencyHistogram* out, std::string* error);

}  // namespace pb
