// Wall-clock instants as text, in UTC: what result files record as their
// provenance (never a measurement: measurements use pb::sys::now_ns()).
#pragma once

#include <cstdint>
#include <string>

namespace pb {

// Seconds since the epoch as ISO 8601, "2026-11-22T05:37:01Z"; "unknown
// (...)" when the time cannot be converted.
std::string iso8601_utc(int64_t unix_seconds);

// The same instant compact, for file and directory names: "20261122T053701Z".
std::string compact_utc(int64_t unix_seconds);

}  // namespace pb
