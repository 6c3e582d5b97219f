// The kernel's CPU list format, parsed and printed. Kept apart from sysinfo
// so that tools which only need CPU sets (pb-cyclictest) do not link hwloc.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pb {

// The kernel's cpu list format ("0-3,8,10-11"; surrounding whitespace and a
// trailing newline ignored). "" is the empty list. Returns the CPUs sorted and
// unique, or nullopt with `*error` set (when non-null) for malformed text:
// non-digits, empty elements, reversed ranges, numbers above 1<<20.
std::optional<std::vector<int>> parse_cpu_list(std::string_view text, std::string* error = nullptr);
// Inverse of parse_cpu_list for sorted unique input: {0,1,2,5} -> "0-2,5".
std::string format_cpu_list(const std::vector<int>& cpus);

}  // namespace pb
