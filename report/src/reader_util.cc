#include "reader_util.h"

#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "pb/report/readers.h"

namespace pb::report::detail {

using json = nlohmann::json;

void fail(const std::string& path, const std::string& what) {
  throw ReadError(path.empty() ? what : path + ": " + what);
}

bool looks_binary(std::string_view text) {
  // UTF-8 validation by hand (overlongs, surrogates and > U+10FFFF rejected).
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c == 0) return true;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return true;
    }
    if (i + len > n) return true;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return true;
      cp = (cp << 6) | (p[i + k] & 0x3Fu);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return true;
    }
    i += len;
  }
  return false;
}

json parse_json(std::string_view text) {
  // nlohmann's parser is iterative, but copying, comparing and dumping a
  // value recurse: bound the depth first, with a scan that skips strings.
  int depth = 0;
  bool in_string = false, escape = false;
  for (const char c : text) {
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) {
        throw ReadError(fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth));
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 3, column 1: ..."
    std::string what = e.what();
    if (const auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    throw ReadError("not valid JSON (" + what + ")");
  }
}

Obj::Obj(const json& j, std::string path) : j_(j), path_(std::move(path)) {
  if (!j_.is_object()) wrong_type(path_, "an object", j_);
}

std::string Obj::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const json* Obj::find(std::string_view key) const {
  const auto it = j_.find(key);
  return it == j_.end() ? nullptr : &*it;
}

const json& Obj::at(std::string_view key) const {
  const json* v = find(key);
  if (v == nullptr) fail(path_, fmt::format("missing key \"{}\"", key));
  return *v;
}

Obj Obj::obj(std::string_view key) const { return Obj(at(key), path_of(key)); }

void wrong_type(const std::string& path, const char* expected, const json& v) {
  const char* got = v.type_name();
  if (v.is_number_float()) got = "a non-integer number";
  if (v.is_number_integer()) got = "an integer";
  fail(path, fmt::format("expected {}, got {}", expected, got));
}

std::string as_string(const json& v, const std::string& path) {
  if (!v.is_string()) wrong_type(path, "a string", v);
  return v.get<std::string>();
}

int64_t as_int(const json& v, const std::string& path, int64_t min, int64_t max) {
  int64_t r = 0;
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(max))
      fail(path, fmt::format("{} is out of range [{}, {}]", u, min, max));
    r = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    r = v.get<int64_t>();
  } else if (v.is_number_float()) {
    // 1e30 is how JSON spells an integer too large for 64 bits.
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d)) {
      fail(path, fmt::format("{:g} is out of range [{}, {}]", d, min, max));
    }
    wrong_type(path, "an integer", v);
  } else {
    wrong_type(path, "an integer", v);
  }
  if (r < min || r > max) fail(path, fmt::format("{} is out of range [{}, {}]", r, min, max));
  return r;
}

uint64_t as_count(const json& v, const std::string& path) {
  return static_cast<uint64_t>(as_int(v, path, 0, static_cast<int64_t>(kMaxSamples)));
}

double as_number(const json& v, const std::string& path, double min, double max) {
  if (!v.is_number()) wrong_type(path, "a number", v);
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < min || d > max) {
    fail(path, fmt::format("{:g} is out of range [{:g}, {:g}]", d, min, max));
  }
  return d;
}

std::optional<uint64_t> parse_index(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::string host_model_from_uname(std::string_view version, bool realtime) {
  // uname -v: "#1 SMP PREEMPT_DYNAMIC ...", "#1 SMP PREEMPT_RT ...",
  // "#1 SMP PREEMPT ..." (full); no PREEMPT word: none or voluntary.
  if (realtime) return "rt";
  bool dynamic = false, rt = false, lazy = false, full = false;
  size_t i = 0;
  while (i < version.size()) {
    while (i < version.size() && version[i] == ' ') ++i;
    size_t j = i;
    while (j < version.size() && version[j] != ' ') ++j;
    const std::string_view word = version.substr(i, j - i);
    if (word == "PREEMPT_DYNAMIC") dynamic = true;
    if (word == "PREEMPT_RT") rt = true;
    if (word == "PREEMPT_LAZY") lazy = true;
    if (word == "PREEMPT") full = true;
    i = j;
  }
  if (rt) return "rt";
  if (dynamic) return "dynamic";
  if (lazy) return "lazy";
  if (full) return "full";
  return version.empty() ? "unknown" : "none/voluntary";
}

std::string host_model_from_machine(const json& machine) {
  if (!machine.is_object()) return "unknown";
  const auto p = machine.find("preemption");
  if (p == machine.end() || !p->is_object()) return "unknown";
  const auto str = [&](const char* key) -> std::string {
    const auto it = p->find(key);
    return it != p->end() && it->is_string() ? it->get<std::string>() : "";
  };
  const std::string model = str("model");
  if (!model.empty() && model.rfind("unknown", 0) != 0) return model;
  const auto dyn = p->find("dynamic");
  // PREEMPT_DYNAMIC with the live mode unreadable: "dynamic", as uname -v
  // says for cyclictest's files, so both tools' rows of one host agree.
  if (dyn != p->end() && dyn->is_boolean() && dyn->get<bool>()) return "dynamic";
  return "unknown";
}

}  // namespace pb::report::detail
