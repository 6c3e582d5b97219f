// Shared by the readers: bounded JSON parsing and strict, path-naming access
// to JSON values. Internal to pb_report.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pb/report/record.h"

namespace pb::report::detail {

// Thrown inside a reader and caught at its boundary; never escapes pb_report.
struct ReadError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& path, const std::string& what);

// True when `text` holds a NUL byte or is not valid UTF-8.
bool looks_binary(std::string_view text);

// Parses JSON after checking the nesting depth (<= kMaxJsonDepth) without
// recursion; throws ReadError("not JSON: ...") / ("nested deeper than ...").
nlohmann::json parse_json(std::string_view text);

// A JSON object being read, with its key path for messages ("thread.0.max").
class Obj {
 public:
  Obj(const nlohmann::json& j, std::string path);
  const std::string& path() const { return path_; }
  std::string path_of(std::string_view key) const;
  const nlohmann::json* find(std::string_view key) const;
  const nlohmann::json& at(std::string_view key) const;  // throws "missing key"
  Obj obj(std::string_view key) const;
  const nlohmann::json& value() const { return j_; }

 private:
  const nlohmann::json& j_;
  std::string path_;
};

[[noreturn]] void wrong_type(const std::string& path, const char* expected,
                             const nlohmann::json& v);

std::string as_string(const nlohmann::json& v, const std::string& path);
// An integer in [min, max] (floats, booleans and strings are wrong types).
int64_t as_int(const nlohmann::json& v, const std::string& path, int64_t min, int64_t max);
uint64_t as_count(const nlohmann::json& v, const std::string& path);  // [0, kMaxSamples]
// A finite number in [min, max].
double as_number(const nlohmann::json& v, const std::string& path, double min, double max);

// Decimal digits only, no sign, at most 18 digits: "0", "17"; else nullopt.
std::optional<uint64_t> parse_index(std::string_view s);

// The preemption model from a uname -v string and cyclictest's "realtime"
// flag: "rt", "dynamic", "lazy", "full", or "none/voluntary".
std::string host_model_from_uname(std::string_view version, bool realtime);

// The preemption model from a sysinfo fingerprint's "preemption" object:
// its "model" when known, else "dynamic" (PREEMPT_DYNAMIC, live mode
// unreadable) or "unknown".
std::string host_model_from_machine(const nlohmann::json& machine);

}  // namespace pb::report::detail
