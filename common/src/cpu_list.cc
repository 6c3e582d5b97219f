#include "pb/cpu_list.h"

#include <algorithm>

#include <fmt/format.h>

#include "text_util.h"

namespace pb {
namespace {

using text::kMaxCpu;
using text::parse_uint;
using text::trim;

}  // namespace

std::optional<std::vector<int>> parse_cpu_list(std::string_view text, std::string* error) {
  const std::string_view all = trim(text);
  auto fail = [&](std::string_view why) -> std::optional<std::vector<int>> {
    if (error) *error = fmt::format("malformed cpu list '{}': {}", all, why);
    return std::nullopt;
  };
  std::vector<int> cpus;
  if (all.empty()) return cpus;
  size_t pos = 0;
  for (;;) {
    const size_t comma = all.find(',', pos);
    const std::string_view elem =
        all.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (elem.empty()) return fail("empty element");
    const size_t dash = elem.find('-');
    const auto lo = parse_uint(elem.substr(0, dash), kMaxCpu);
    const auto hi =
        dash == std::string_view::npos ? lo : parse_uint(elem.substr(dash + 1), kMaxCpu);
    if (!lo || !hi)
      return fail(fmt::format("'{}' is not N or N-M (N, M at most {})", elem, kMaxCpu));
    if (*hi < *lo) return fail(fmt::format("reversed range '{}'", elem));
    for (int64_t c = *lo; c <= *hi; ++c) cpus.push_back(static_cast<int>(c));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string format_cpu_list(const std::vector<int>& cpus) {
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? fmt::format("{}", cpus[i]) : fmt::format("{}-{}", cpus[i], cpus[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace pb
