#include "pb/utc.h"

#include <time.h>

#include <ctime>

namespace pb {
namespace {

std::string utc_text(int64_t unix_seconds, const char* format) {
  const auto t = static_cast<time_t>(unix_seconds);
  tm utc{};
  if (!gmtime_r(&t, &utc)) return "unknown (gmtime failed)";
  char buf[32];
  const size_t n = std::strftime(buf, sizeof buf, format, &utc);
  return n ? std::string(buf, n) : std::string("unknown (strftime failed)");
}

}  // namespace

std::string iso8601_utc(int64_t unix_seconds) {
  return utc_text(unix_seconds, "%Y-%m-%dT%H:%M:%SZ");
}

std::string compact_utc(int64_t unix_seconds) { return utc_text(unix_seconds, "%Y%m%dT%H%M%SZ"); }

}  // namespace pb
