// Small text helpers shared by the parsers of kernel text in common/.
// Internal: not part of the public headers.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pb::text {

// Far above NR_CPUS anywhere; bounds a malformed CPU number or list.
inline constexpr int kMaxCpu = 1 << 20;

inline std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Non-negative decimal with no sign, no spaces; nullopt otherwise or above `max`.
inline std::optional<int64_t> parse_uint(std::string_view s, int64_t max) {
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
    if (v > max) return std::nullopt;
  }
  return v;
}

}  // namespace pb::text
