#pragma once
// A log-linear histogram of durations in nanoseconds: constant memory whatever the number of
// samples, about 1.6 % relative precision (64 sub-buckets per power of two), exact count and max.

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace tinychat::bench {

/// Not thread-safe: one per I/O thread, merged once the threads are done.
class Histogram {
public:
  void record(std::uint64_t ns) noexcept {
    ++counts_[index_of(ns)];
    ++count_;
    max_ = std::max(max_, ns);
  }

  void merge(const Histogram& other) noexcept {
    for (std::size_t i = 0; i < bucket_count; ++i)
      counts_[i] += other.counts_[i];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
  }

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return max_; }

  /// The value below which a fraction `q` (0..1) of the samples lie, as the middle of its
  /// bucket (never above max()); 0 without samples.
  std::uint64_t percentile(double q) const noexcept {
    if (count_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_) + 0.5);
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(middle_of(i), max_);
    }
    return max_;
  }

private:
  static constexpr unsigned sub_bits = 6;
  static constexpr std::uint64_t sub_count = std::uint64_t{1} << sub_bits;
  static constexpr std::size_t bucket_count = (64 - sub_bits + 1) * sub_count;

  // Values below 64 get a bucket each; above, bucket (e - 5) * 64 + the 6 bits after the top
  // bit, where e is the top bit's position.
  static std::size_t index_of(std::uint64_t v) noexcept {
    if (v < sub_count) return static_cast<std::size_t>(v);
    const unsigned e = static_cast<unsigned>(std::bit_width(v)) - 1;
    const std::uint64_t mantissa = (v >> (e - sub_bits)) - sub_count;
    return static_cast<std::size_t>((e - sub_bits + 1) * sub_count + mantissa);
  }

  static std::uint64_t middle_of(std::size_t i) noexcept {
    if (i < sub_count) return i;
    const unsigned e = static_cast<unsigned>(i / sub_count) + sub_bits - 1;
    const std::uint64_t low = (sub_count + i % sub_count) << (e - sub_bits);
    return low + ((std::uint64_t{1} << (e - sub_bits)) >> 1);
  }

  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

} // namespace tinychat::bench
