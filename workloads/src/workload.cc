// The description parser, the built-in registry and the canonical writer.
//
// Parsing runs in three passes over the JSON document: (1) nlohmann's parser
// with a callback that bounds nesting and rejects duplicate keys; (2)
// parameters: "params" read, --set applied, every "${name}" value replaced
// by its parameter's value and remembered as a ParamRef; (3) the typed parse,
// which checks every key against the ones its object may have and every value
// against its type and range, then the cross-references (locks, channels,
// nesting order, sleeping in atomic sections). Every failure is one
// WorkloadError naming the origin, the key path and what was expected.
#include "pb/workloads/workload.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

#include "builtin_registry.h"

namespace pb::wl {
namespace {

using json = nlohmann::ordered_json;  // keeps declaration order (params, refs)
using ojson = nlohmann::ordered_json;

constexpr size_t kMaxTextBytes = 1 << 20;  // a description file
constexpr int kMaxJsonDepth = 40;          // raw JSON nesting (the typed limit is kMaxNesting)
constexpr size_t kMaxNameLen = 24;
constexpr size_t kMaxDescriptionLen = 4096;
constexpr size_t kMaxStringParamLen = 256;

// Bytes outside printable ASCII as \xNN, so a message is always printable
// and valid UTF-8 (it may quote garbage from the input).
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// "got ..." text for a JSON value: its type and, for scalars, its value.
std::string describe(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::string: {
      std::string s = v.get<std::string>();
      if (s.size() > 40) s = s.substr(0, 40) + "...";
      return "the string " + quote(s);
    }
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return v.dump();
    case json::value_t::number_float:
      return v.dump() + " (not an integer)";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i != 0) out += sep;
    out += v[i];
  }
  return out;
}

bool valid_name(std::string_view s, size_t max_len = kMaxNameLen) {
  if (s.empty() || s.size() > max_len) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

bool valid_param_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// A key path in both spellings: for messages ("tasks[1].path[0]") and as a
// JSON pointer ("/tasks/1/path/0", how ParamRef names a place).
struct KeyPath {
  std::string dotted;
  std::string pointer;

  KeyPath key(const std::string& k) const {
    std::string escaped;
    for (char c : k) {
      if (c == '~') {
        escaped += "~0";
      } else if (c == '/') {
        escaped += "~1";
      } else {
        escaped.push_back(c);
      }
    }
    return {dotted.empty() ? k : dotted + "." + k, pointer + "/" + escaped};
  }
  KeyPath index(size_t i) const {
    return {dotted + "[" + std::to_string(i) + "]", pointer + "/" + std::to_string(i)};
  }
};

// --- pass 1: JSON with bounded nesting and no duplicate keys ------------------------

json parse_json(const std::string& text, const std::string& origin) {
  struct Frame {
    bool object = false;
    size_t next_index = 0;
    size_t current = 0;
    std::string key;
    std::set<std::string> seen;
  };
  std::vector<Frame> frames;
  auto element_begins = [&] {
    if (!frames.empty() && !frames.back().object)
      frames.back().current = frames.back().next_index++;
  };
  auto where = [&] {
    std::string p;
    for (size_t i = 0; i + 1 < frames.size(); ++i) {
      if (frames[i].object) {
        p += (p.empty() ? "" : ".") + frames[i].key;
      } else {
        p += "[" + std::to_string(frames[i].current) + "]";
      }
    }
    return p;
  };
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth) {
          throw WorkloadError(origin + ": nesting deeper than " + std::to_string(kMaxJsonDepth) +
                              " levels");
        }
        element_begins();
        frames.push_back({event == json::parse_event_t::object_start, 0, 0, {}, {}});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames.empty()) frames.pop_back();
        break;
      case json::parse_event_t::key: {
        Frame& f = frames.back();
        f.key = parsed.get<std::string>();
        if (!f.seen.insert(f.key).second) {
          std::string w = where();
          w += (w.empty() ? "" : ".") + f.key;
          throw WorkloadError(origin + ": " + printable(w) + ": duplicate key");
        }
        break;
      }
      case json::parse_event_t::value:
        element_begins();
        break;
    }
    return true;
  };
  try {
    return json::parse(text, cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    const size_t cut = what.find("] ");
    if (what.rfind("[json.exception", 0) == 0 && cut != std::string::npos)
      what = what.substr(cut + 2);
    throw WorkloadError(origin + ": not valid JSON: " + printable(what));
  }
}

// --- pass 2: parameters ---------------------------------------------------------------

struct ParamState {
  std::vector<std::string> order;
  std::map<std::string, json> values;
  std::map<std::string, int> uses;
};

// Replaces every whole-string "${name}" outside "params" by the parameter's
// value; records (pointer, name) in `refs`.
void substitute(json& v, const KeyPath& at, ParamState& ps, std::vector<ParamRef>& refs,
                const std::string& origin) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (at.pointer.empty() && it.key() == "params") continue;
      substitute(it.value(), at.key(it.key()), ps, refs, origin);
    }
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) substitute(v[i], at.index(i), ps, refs, origin);
  } else if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    const size_t open = s.find("${");
    if (open == std::string::npos) return;
    const bool whole = open == 0 && s.size() >= 3 && s.back() == '}' &&
                       s.find("${", 1) == std::string::npos && s.find('}') == s.size() - 1;
    if (!whole) {
      throw WorkloadError(origin + ": " + printable(at.dotted) +
                          ": a parameter reference must be " +
                          "the whole value, as \"${name}\", got " + printable(quote(s)));
    }
    const std::string name = s.substr(2, s.size() - 3);
    auto found = ps.values.find(name);
    if (found == ps.values.end()) {
      throw WorkloadError(
          origin + ": " + printable(at.dotted) + ": unknown parameter " + printable(quote(name)) +
          " (declared: " + (ps.order.empty() ? std::string("none") : join(ps.order)) + ")");
    }
    refs.push_back({at.pointer, name});
    ++ps.uses[name];
    v = found->second;
  }
}

json parse_set_value(const std::string& set, const std::string& value, const json& current,
                     const std::string& origin) {
  auto bad = [&](const char* expected) -> WorkloadError {
    return WorkloadError(origin + ": --set " + printable(set) + ": expected " + expected +
                         ", got " + printable(quote(value)));
  };
  if (current.is_number_integer()) {
    int64_t v = 0;
    const char* end = value.data() + value.size();
    auto [p, ec] = std::from_chars(value.data(), end, v);
    if (value.empty() || ec != std::errc() || p != end) throw bad("an integer");
    return json(v);
  }
  if (current.is_number_float()) {
    if (value.empty()) throw bad("a number");
    errno = 0;
    char* end = nullptr;
    const double d = std::strtod(value.c_str(), &end);
    if (errno != 0 || end != value.c_str() + value.size() || !std::isfinite(d)) {
      throw bad("a number");
    }
    return json(d);
  }
  if (current.is_boolean()) {
    if (value == "true") return json(true);
    if (value == "false") return json(false);
    throw bad("true or false");
  }
  if (value.size() > kMaxStringParamLen) throw bad("a string of at most 256 bytes");
  json s = value;
  try {
    (void)s.dump();
  } catch (const json::exception&) {
    throw bad("valid UTF-8");
  }
  return s;
}

// --- pass 3: the typed parse ----------------------------------------------------------

class Parser {
 public:
  Parser(std::string origin, const std::vector<ParamRef>& refs) : origin_(std::move(origin)) {
    for (const auto& r : refs) ref_of_.emplace(r.pointer, r.param);
  }

  Workload parse(const json& doc, Workload w);

 private:
  [[noreturn]] void fail(const KeyPath& at, const std::string& what) const {
    std::string msg = origin_ + ": ";
    if (!at.dotted.empty()) msg += printable(at.dotted) + ": ";
    msg += what;
    auto r = ref_of_.find(at.pointer);
    if (r != ref_of_.end()) msg += " (from ${" + r->second + "})";
    throw WorkloadError(msg);
  }
  [[noreturn]] void expected(const KeyPath& at, const std::string& what, const json& got) const {
    fail(at, "expected " + what + ", got " + printable(describe(got)));
  }

  const json& object(const json& v, const KeyPath& at, const char* what = "an object") const {
    if (!v.is_object()) expected(at, what, v);
    return v;
  }
  const json& array(const json& v, const KeyPath& at, size_t max_size) const {
    if (!v.is_array()) expected(at, "an array", v);
    if (v.size() > max_size) {
      fail(at, "expected at most " + std::to_string(max_size) + " entries, got " +
                   std::to_string(v.size()));
    }
    return v;
  }
  void only_keys(const json& obj, const KeyPath& at,
                 const std::vector<std::string>& allowed) const {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
        fail(at.key(it.key()), "unknown key (expected one of: " + join(allowed) + ")");
      }
    }
  }
  const json* find(const json& obj, const char* key) const {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }
  const json& require(const json& obj, const KeyPath& at, const char* key, const char* what) const {
    const json* v = find(obj, key);
    if (v == nullptr) fail(at, std::string("missing required key \"") + key + "\" (" + what + ")");
    return *v;
  }

  int64_t integer(const json& v, const KeyPath& at, int64_t lo, int64_t hi) const {
    std::string what;
    if (lo == 1) {
      what = "a positive integer";
    } else if (lo == 0) {
      what = "a non-negative integer";
    } else {
      what = "an integer";
    }
    if (!v.is_number_integer()) expected(at, what, v);  // unsigned counts as integer
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi)) {
      fail(at, "expected at most " + std::to_string(hi) + ", got " + v.dump());
    }
    const int64_t x = v.get<int64_t>();
    if (x < lo) expected(at, what, v);
    if (x > hi) fail(at, "expected at most " + std::to_string(hi) + ", got " + v.dump());
    return x;
  }
  int64_t integer_key(const json& obj, const KeyPath& at, const char* key, int64_t lo, int64_t hi,
                      int64_t dflt) const {
    const json* v = find(obj, key);
    return v == nullptr ? dflt : integer(*v, at.key(key), lo, hi);
  }
  bool boolean_key(const json& obj, const KeyPath& at, const char* key, bool dflt) const {
    const json* v = find(obj, key);
    if (v == nullptr) return dflt;
    if (!v->is_boolean()) expected(at.key(key), "true or false", *v);
    return v->get<bool>();
  }
  std::string string(const json& v, const KeyPath& at, size_t max_len) const {
    if (!v.is_string()) expected(at, "a string", v);
    const std::string& s = v.get_ref<const std::string&>();
    if (s.size() > max_len) {
      fail(at, "expected a string of at most " + std::to_string(max_len) + " bytes, got " +
                   std::to_string(s.size()));
    }
    return s;
  }
  std::string name(const json& v, const KeyPath& at) const {
    if (!v.is_string() || !valid_name(v.get_ref<const std::string&>())) {
      expected(at, "a name of 1 to 24 characters from A-Z a-z 0-9 _ - .", v);
    }
    return v.get<std::string>();
  }
  template <typename E, size_t N>
  E choice(const json& v, const KeyPath& at,
           const std::array<std::pair<const char*, E>, N>& options) const {
    std::vector<std::string> names;
    for (const auto& [n, e] : options) {
      if (v.is_string() && v.get_ref<const std::string&>() == n) return e;
      names.push_back(quote(n));
    }
    expected(at, "one of " + join(names), v);
  }

  void parse_locks(const json& v, const KeyPath& at, Workload& w) const;
  void parse_channels(const json& v, const KeyPath& at, Workload& w) const;
  void parse_irqs(const json& v, const KeyPath& at, Workload& w) const;
  void parse_tasks(const json& v, const KeyPath& at, Workload& w);

  // The state of the path being parsed, for the cross checks.
  struct PathState {
    std::vector<int> held;  // lock indices, outermost first
    int atomic = 0;         // enclosing sections that forbid sleeping
    std::string atomic_what;
    int segments = 0;
  };
  std::vector<Segment> parse_path(const json& v, const KeyPath& at, int depth, PathState& ps);
  Segment parse_segment(const json& v, const KeyPath& at, int depth, PathState& ps);
  int lock_index(const std::string& n) const {
    for (size_t i = 0; i < w_->locks.size(); ++i) {
      if (w_->locks[i].name == n) return static_cast<int>(i);
    }
    return -1;
  }
  bool has_channel(const std::string& n) const {
    return std::find(w_->channels.begin(), w_->channels.end(), n) != w_->channels.end();
  }

  std::string origin_;
  std::map<std::string, std::string> ref_of_;  // pointer -> parameter
  const Workload* w_ = nullptr;
  std::map<std::string, int> sends_, recvs_;  // channel uses
};

constexpr std::array<std::pair<const char*, Policy>, 3> kSchedNames{
    {{"fair", Policy::kFair}, {"fifo", Policy::kFifo}, {"rr", Policy::kRr}}};
constexpr std::array<std::pair<const char*, LockType>, 4> kLockNames{
    {{"raw_spinlock", LockType::kRawSpinlock},
     {"spinlock", LockType::kSpinlock},
     {"mutex", LockType::kMutex},
     {"rt_mutex", LockType::kRtMutex}}};
constexpr std::array<std::pair<const char*, PointKind>, 3> kPointNames{
    {{"cond_resched", PointKind::kCondResched},
     {"might_sleep", PointKind::kMightSleep},
     {"might_resched", PointKind::kMightResched}}};
constexpr std::array<std::pair<const char*, IoOp>, 3> kIoNames{
    {{"nop", IoOp::kNop}, {"read", IoOp::kRead}, {"write", IoOp::kWrite}}};
constexpr std::array<std::pair<const char*, IrqThreading>, 3> kThreadingNames{
    {{"forced", IrqThreading::kForced},
     {"always", IrqThreading::kAlways},
     {"never", IrqThreading::kNever}}};

// The key that says what a segment is, and the keys each kind may add.
struct SegmentKey {
  const char* key;
  SegmentKind kind;
  std::vector<std::string> extra;
};
const std::vector<SegmentKey>& segment_keys() {
  static const std::vector<SegmentKey> keys = {
      {"compute_us", SegmentKind::kCompute, {"cond_resched_us", "might_sleep_us"}},
      {"point", SegmentKind::kPoint, {}},
      {"lock", SegmentKind::kLock, {"irqsave", "path"}},
      {"preempt_off", SegmentKind::kPreemptOff, {}},
      {"irqs_off", SegmentKind::kIrqsOff, {}},
      {"bh_off", SegmentKind::kBhOff, {}},
      {"sleep_us", SegmentKind::kSleep, {}},
      {"send", SegmentKind::kSend, {"count"}},
      {"recv", SegmentKind::kRecv, {}},
      {"io", SegmentKind::kIo, {"bytes"}},
  };
  return keys;
}

bool is_sleeping(LockType k) { return k == LockType::kMutex || k == LockType::kRtMutex; }

Workload Parser::parse(const json& doc, Workload w) {
  w_ = &w;
  const KeyPath root{};
  object(doc, root, "a JSON object at the top level");
  only_keys(doc, root,
            {"format", "name", "description", "params", "locks", "channels", "irqs", "tasks"});
  if (const json* f = find(doc, "format")) {
    if (!f->is_string() || f->get_ref<const std::string&>() != kWorkloadFormat) {
      expected(root.key("format"), quote(kWorkloadFormat), *f);
    }
  }
  const json& n = require(doc, root, "name", "the workload's name");
  if (!n.is_string() || !valid_name(n.get_ref<const std::string&>(), 64)) {
    expected(root.key("name"), "a name of 1 to 64 characters from A-Z a-z 0-9 _ - .", n);
  }
  w.name = n.get<std::string>();
  if (const json* d = find(doc, "description")) {
    w.description = string(*d, root.key("description"), kMaxDescriptionLen);
  }
  if (const json* v = find(doc, "locks")) parse_locks(*v, root.key("locks"), w);
  if (const json* v = find(doc, "channels")) parse_channels(*v, root.key("channels"), w);
  if (const json* v = find(doc, "irqs")) parse_irqs(*v, root.key("irqs"), w);
  parse_tasks(require(doc, root, "tasks", "the task entries"), root.key("tasks"), w);
  for (size_t i = 0; i < w.channels.size(); ++i) {
    const std::string& c = w.channels[i];
    if (sends_[c] == 0)
      fail(root.key("channels").index(i), "channel \"" + c + "\" has no send segment");
    if (recvs_[c] == 0)
      fail(root.key("channels").index(i), "channel \"" + c + "\" has no recv segment");
  }
  return w;
}

void Parser::parse_locks(const json& v, const KeyPath& at, Workload& w) const {
  array(v, at, kMaxLocks);
  for (size_t i = 0; i < v.size(); ++i) {
    const KeyPath p = at.index(i);
    const json& o = object(v[i], p);
    only_keys(o, p, {"name", "type"});
    LockDesc l;
    l.name = name(require(o, p, "name", "the lock's name"), p.key("name"));
    l.kind = choice(require(o, p, "type", "raw_spinlock, spinlock, mutex or rt_mutex"),
                    p.key("type"), kLockNames);
    for (const auto& other : w.locks) {
      if (other.name == l.name) fail(p.key("name"), "duplicate lock name \"" + l.name + "\"");
    }
    w.locks.push_back(std::move(l));
  }
}

void Parser::parse_channels(const json& v, const KeyPath& at, Workload& w) const {
  array(v, at, kMaxChannels);
  for (size_t i = 0; i < v.size(); ++i) {
    std::string c = name(v[i], at.index(i));
    if (std::find(w.channels.begin(), w.channels.end(), c) != w.channels.end()) {
      fail(at.index(i), "duplicate channel name \"" + c + "\"");
    }
    w.channels.push_back(std::move(c));
  }
}

void Parser::parse_irqs(const json& v, const KeyPath& at, Workload& w) const {
  array(v, at, kMaxIrqs);
  for (size_t i = 0; i < v.size(); ++i) {
    const KeyPath p = at.index(i);
    const json& o = object(v[i], p);
    only_keys(
        o, p,
        {"name", "vcpu", "rate_hz", "handler_us", "softirq_us", "threading", "thread_priority"});
    IrqDesc q;
    q.name = name(require(o, p, "name", "the interrupt's name"), p.key("name"));
    for (const auto& other : w.irqs) {
      if (other.name == q.name) fail(p.key("name"), "duplicate interrupt name \"" + q.name + "\"");
    }
    q.vcpu = static_cast<int>(integer_key(o, p, "vcpu", 0, kMaxVcpuIndex, 0));
    q.rate_hz = integer(require(o, p, "rate_hz", "interrupts per second"), p.key("rate_hz"), 1,
                        kMaxIrqRateHz);
    q.handler_us = integer_key(o, p, "handler_us", 0, kMaxTimeUs, 0);
    q.softirq_us = integer_key(o, p, "softirq_us", 0, kMaxTimeUs, 0);
    if (const json* t = find(o, "threading"))
      q.threading = choice(*t, p.key("threading"), kThreadingNames);
    q.thread_priority = static_cast<int>(integer_key(o, p, "thread_priority", 1, 99, 50));
    const int64_t period_us = 1'000'000 / q.rate_hz;
    if (q.handler_us + q.softirq_us > period_us) {
      fail(p, "handler_us + softirq_us (" + std::to_string(q.handler_us + q.softirq_us) +
                  " us) exceed the interrupt period (" + std::to_string(period_us) +
                  " us at rate_hz " + std::to_string(q.rate_hz) + ")");
    }
    w.irqs.push_back(std::move(q));
  }
}

void Parser::parse_tasks(const json& v, const KeyPath& at, Workload& w) {
  array(v, at, kMaxTaskEntries);
  if (v.empty()) fail(at, "expected at least one task");
  std::set<std::string> instance_names;
  int instances = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const KeyPath p = at.index(i);
    const json& o = object(v[i], p);
    only_keys(o, p,
              {"name", "class", "priority", "nice", "vcpu", "count", "period_us", "deadline_us",
               "phase_us", "measure", "user_us", "path"});
    TaskDesc t;
    t.name = name(require(o, p, "name", "the task's name"), p.key("name"));
    if (const json* c = find(o, "class")) t.sched = choice(*c, p.key("class"), kSchedNames);
    if (t.sched == Policy::kFair) {
      if (const json* pr = find(o, "priority")) {
        if (!(pr->is_number_integer() && pr->get<int64_t>() == 0)) {
          fail(p.key("priority"),
               "a priority applies to class fifo and rr only (fair tasks have none)");
        }
      }
      t.nice = static_cast<int>(integer_key(o, p, "nice", -20, 19, 0));
    } else {
      if (const json* ni = find(o, "nice")) {
        if (!(ni->is_number_integer() && ni->get<int64_t>() == 0)) {
          fail(p.key("nice"),
               "nice applies to class fair only (fifo and rr tasks have a priority)");
        }
      }
      t.priority = static_cast<int>(integer(
          require(o, p, "priority", "1..99 for class fifo and rr"), p.key("priority"), 1, 99));
    }
    t.vcpu = static_cast<int>(integer_key(o, p, "vcpu", 0, kMaxVcpuIndex, 0));
    t.count = static_cast<int>(integer_key(o, p, "count", 0, kMaxCount, 1));
    t.period_us = integer_key(o, p, "period_us", 10, kMaxTimeUs, 0);
    if (t.period_us == 0) {
      for (const char* k : {"deadline_us", "phase_us"}) {
        if (find(o, k) != nullptr) fail(p.key(k), "applies to periodic tasks only (set period_us)");
      }
    }
    t.deadline_us = integer_key(o, p, "deadline_us", 1, std::max<int64_t>(t.period_us, 1), 0);
    t.phase_us = integer_key(o, p, "phase_us", 0, kMaxTimeUs, 0);
    t.measure = boolean_key(o, p, "measure", false);
    if (t.measure && t.period_us == 0) {
      fail(p.key("measure"), "a measuring task must be periodic (set period_us)");
    }
    t.user_us = integer_key(o, p, "user_us", 0, kMaxTimeUs, 0);
    if (const json* path = find(o, "path")) {
      PathState ps;
      t.path = parse_path(*path, p.key("path"), 0, ps);
    }
    if (t.period_us == 0 && t.user_us == 0 && t.path.empty()) {
      fail(p, "a continuous task needs user_us or a path (it would loop doing nothing)");
    }
    for (int k = 0; k < t.count; ++k) {
      if (!instance_names.insert(instance_name(t, k)).second) {
        fail(p.key("name"), "task name \"" + instance_name(t, k) + "\" is used twice");
      }
    }
    instances += t.count;
    if (instances > kMaxInstances) {
      fail(p.key("count"), "more than " + std::to_string(kMaxInstances) + " task instances in all");
    }
    w.tasks.push_back(std::move(t));
  }
  if (instances == 0) fail(at, "no task instances (every count is 0)");
}

std::vector<Segment> Parser::parse_path(const json& v, const KeyPath& at, int depth,
                                        PathState& ps) {
  array(v, at, kMaxSegments);
  if (v.empty()) fail(at, "expected at least one segment");
  std::vector<Segment> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) out.push_back(parse_segment(v[i], at.index(i), depth, ps));
  return out;
}

Segment Parser::parse_segment(const json& v, const KeyPath& at, int depth, PathState& ps) {
  if (++ps.segments > kMaxSegments) {
    fail(at, "more than " + std::to_string(kMaxSegments) + " segments in one path");
  }
  object(v, at, "a segment object");
  const SegmentKey* sk = nullptr;
  std::vector<std::string> kind_keys;
  for (const auto& k : segment_keys()) {
    kind_keys.push_back(k.key);
    if (v.contains(k.key)) {
      if (sk != nullptr) {
        fail(at, std::string("a segment has exactly one of its kind keys, got both \"") + sk->key +
                     "\" and \"" + k.key + "\"");
      }
      sk = &k;
    }
  }
  if (sk == nullptr) {
    fail(at, "expected a segment with one of the keys " + join(kind_keys) +
                 (v.empty() ? std::string(", got an empty object") : ", got keys " + [&] {
                   std::vector<std::string> ks;
                   for (auto it = v.begin(); it != v.end(); ++it) ks.push_back(it.key());
                   return printable(join(ks));
                 }()));
  }
  std::vector<std::string> allowed{sk->key};
  allowed.insert(allowed.end(), sk->extra.begin(), sk->extra.end());
  only_keys(v, at, allowed);

  Segment s;
  s.kind = sk->kind;
  const KeyPath kp = at.key(sk->key);
  const json& kv = v[sk->key];
  auto blocking = [&](const char* what) {
    if (ps.atomic > 0) {
      fail(kp, std::string(what) + " inside " + ps.atomic_what +
                   " (sleeping in atomic context; use a might_sleep point to show the check)");
    }
  };
  auto section = [&](const json& body, const KeyPath& bp, bool atomic, const std::string& what) {
    if (depth + 1 > kMaxNesting) {
      fail(bp, "sections nest deeper than " + std::to_string(kMaxNesting) + " levels");
    }
    const std::string saved = ps.atomic_what;
    if (atomic) {
      if (ps.atomic++ == 0) ps.atomic_what = what;
    }
    s.path = parse_path(body, bp, depth + 1, ps);
    if (atomic && --ps.atomic == 0) ps.atomic_what = saved;
  };

  switch (s.kind) {
    case SegmentKind::kCompute:
      s.us = integer(kv, kp, 1, kMaxTimeUs);
      s.cond_resched_us = integer_key(v, at, "cond_resched_us", 0, kMaxTimeUs, 0);
      s.might_sleep_us = integer_key(v, at, "might_sleep_us", 0, kMaxTimeUs, 0);
      break;
    case SegmentKind::kPoint:
      s.point = choice(kv, kp, kPointNames);
      break;
    case SegmentKind::kSleep:
      s.us = integer(kv, kp, 1, kMaxTimeUs);
      blocking("sleep_us");
      break;
    case SegmentKind::kSend:
    case SegmentKind::kRecv: {
      s.target = name(kv, kp);
      if (!has_channel(s.target)) {
        fail(kp, "unknown channel \"" + s.target + "\" (declare it in \"channels\")");
      }
      if (s.kind == SegmentKind::kSend) {
        s.count = static_cast<int>(integer_key(v, at, "count", 1, kMaxCount, 1));
        ++sends_[s.target];
      } else {
        blocking("recv");
        ++recvs_[s.target];
      }
      break;
    }
    case SegmentKind::kIo:
      s.io = choice(kv, kp, kIoNames);
      if (s.io == IoOp::kNop) {
        if (v.contains("bytes")) fail(at.key("bytes"), "a nop I/O moves no bytes");
      } else {
        s.bytes = integer(require(v, at, "bytes", "the read/write size"), at.key("bytes"), 1,
                          kMaxIoBytes);
      }
      blocking("io");
      break;
    case SegmentKind::kPreemptOff:
      section(kv, kp, true, "a preempt_off section");
      break;
    case SegmentKind::kIrqsOff:
      section(kv, kp, true, "an irqs_off section");
      break;
    case SegmentKind::kBhOff:
      section(kv, kp, true, "a bh_off section");
      break;
    case SegmentKind::kLock: {
      s.target = name(kv, kp);
      const int li = lock_index(s.target);
      if (li < 0) fail(kp, "unknown lock \"" + s.target + "\" (declare it in \"locks\")");
      const LockType k = w_->locks[static_cast<size_t>(li)].kind;
      for (int h : ps.held) {
        if (h == li) fail(kp, "lock \"" + s.target + "\" is already held here (self-deadlock)");
        if (h > li) {
          fail(kp, "lock \"" + s.target + "\" taken inside \"" +
                       w_->locks[static_cast<size_t>(h)].name +
                       "\": locks nest in the order they are declared in \"locks\"");
        }
      }
      s.irqsave = boolean_key(v, at, "irqsave", false);
      if (s.irqsave && is_sleeping(k)) {
        fail(at.key("irqsave"), std::string("a ") + to_string(k) + " has no _irqsave variant");
      }
      if (is_sleeping(k))
        blocking((std::string("taking ") + to_string(k) + " \"" + s.target + "\"").c_str());
      const json& body = require(v, at, "path", "the segments run with the lock held");
      ps.held.push_back(li);
      section(body, at.key("path"), !is_sleeping(k),
              std::string("the ") + to_string(k) + " \"" + s.target + "\" section");
      ps.held.pop_back();
      break;
    }
  }
  return s;
}

// --- the canonical writer ---------------------------------------------------------------

struct Writer {
  const std::set<std::string>& referenced;  // pointers that hold a reference: always written

  bool keep(const std::string& ptr, bool non_default) const {
    return non_default || referenced.count(ptr) != 0;
  }

  ojson segment(const Segment& s, const std::string& at) const {
    ojson o = ojson::object();
    auto body = [&](const char* key) {
      ojson a = ojson::array();
      for (size_t i = 0; i < s.path.size(); ++i) {
        a.push_back(segment(s.path[i], at + "/" + key + "/" + std::to_string(i)));
      }
      return a;
    };
    switch (s.kind) {
      case SegmentKind::kCompute:
        o["compute_us"] = s.us;
        if (keep(at + "/cond_resched_us", s.cond_resched_us != 0))
          o["cond_resched_us"] = s.cond_resched_us;
        if (keep(at + "/might_sleep_us", s.might_sleep_us != 0))
          o["might_sleep_us"] = s.might_sleep_us;
        break;
      case SegmentKind::kPoint:
        o["point"] = to_string(s.point);
        break;
      case SegmentKind::kLock:
        o["lock"] = s.target;
        if (keep(at + "/irqsave", s.irqsave)) o["irqsave"] = s.irqsave;
        o["path"] = body("path");
        break;
      case SegmentKind::kPreemptOff:
        o["preempt_off"] = body("preempt_off");
        break;
      case SegmentKind::kIrqsOff:
        o["irqs_off"] = body("irqs_off");
        break;
      case SegmentKind::kBhOff:
        o["bh_off"] = body("bh_off");
        break;
      case SegmentKind::kSleep:
        o["sleep_us"] = s.us;
        break;
      case SegmentKind::kSend:
        o["send"] = s.target;
        if (keep(at + "/count", s.count != 1)) o["count"] = s.count;
        break;
      case SegmentKind::kRecv:
        o["recv"] = s.target;
        break;
      case SegmentKind::kIo:
        o["io"] = to_string(s.io);
        if (s.io != IoOp::kNop) o["bytes"] = s.bytes;
        break;
    }
    return o;
  }

  ojson task(const TaskDesc& t, const std::string& at) const {
    ojson o = ojson::object();
    o["name"] = t.name;
    o["class"] = to_string(t.sched);
    if (t.sched != Policy::kFair || referenced.count(at + "/priority") != 0) {
      o["priority"] = t.priority;
    }
    if (keep(at + "/nice", t.nice != 0)) o["nice"] = t.nice;
    if (keep(at + "/vcpu", t.vcpu != 0)) o["vcpu"] = t.vcpu;
    if (keep(at + "/count", t.count != 1)) o["count"] = t.count;
    if (keep(at + "/period_us", t.period_us != 0)) o["period_us"] = t.period_us;
    if (keep(at + "/deadline_us", t.deadline_us != 0)) o["deadline_us"] = t.deadline_us;
    if (keep(at + "/phase_us", t.phase_us != 0)) o["phase_us"] = t.phase_us;
    if (keep(at + "/measure", t.measure)) o["measure"] = t.measure;
    if (keep(at + "/user_us", t.user_us != 0)) o["user_us"] = t.user_us;
    if (!t.path.empty()) {
      ojson a = ojson::array();
      for (size_t i = 0; i < t.path.size(); ++i) {
        a.push_back(segment(t.path[i], at + "/path/" + std::to_string(i)));
      }
      o["path"] = std::move(a);
    }
    return o;
  }

  ojson irq(const IrqDesc& q, const std::string& at) const {
    ojson o = ojson::object();
    o["name"] = q.name;
    if (keep(at + "/vcpu", q.vcpu != 0)) o["vcpu"] = q.vcpu;
    o["rate_hz"] = q.rate_hz;
    if (keep(at + "/handler_us", q.handler_us != 0)) o["handler_us"] = q.handler_us;
    if (keep(at + "/softirq_us", q.softirq_us != 0)) o["softirq_us"] = q.softirq_us;
    if (keep(at + "/threading", q.threading != IrqThreading::kForced)) {
      o["threading"] = to_string(q.threading);
    }
    if (keep(at + "/thread_priority", q.thread_priority != 50))
      o["thread_priority"] = q.thread_priority;
    return o;
  }
};

}  // namespace

// --- names ------------------------------------------------------------------------------

const char* to_string(Policy s) noexcept {
  for (const auto& [n, e] : kSchedNames) {
    if (e == s) return n;
  }
  return "?";
}
const char* to_string(LockType k) noexcept {
  for (const auto& [n, e] : kLockNames) {
    if (e == k) return n;
  }
  return "?";
}
const char* to_string(PointKind p) noexcept {
  for (const auto& [n, e] : kPointNames) {
    if (e == p) return n;
  }
  return "?";
}
const char* to_string(IoOp op) noexcept {
  for (const auto& [n, e] : kIoNames) {
    if (e == op) return n;
  }
  return "?";
}
const char* to_string(IrqThreading t) noexcept {
  for (const auto& [n, e] : kThreadingNames) {
    if (e == t) return n;
  }
  return "?";
}

std::string sched_label(const TaskDesc& t) {
  if (t.sched == Policy::kFair) return "fair";
  return std::string(to_string(t.sched)) + ":" + std::to_string(t.priority);
}

std::string instance_name(const TaskDesc& t, int index) {
  return t.count == 1 ? t.name : t.name + "-" + std::to_string(index);
}

namespace {
int64_t compute_us(const std::vector<Segment>& path) {
  int64_t sum = 0;
  for (const auto& s : path) {
    if (s.kind == SegmentKind::kCompute) sum += s.us;
    sum += compute_us(s.path);
  }
  return sum;
}
}  // namespace

int64_t nominal_busy_us(const TaskDesc& t) { return t.user_us + compute_us(t.path); }

// --- entry points -----------------------------------------------------------------------

Workload parse_workload(const std::string& text, const std::string& origin,
                        const std::vector<std::string>& sets) {
  if (text.size() > kMaxTextBytes) {
    throw WorkloadError(origin + ": larger than " + std::to_string(kMaxTextBytes) + " bytes");
  }
  json doc = parse_json(text, origin);
  if (!doc.is_object()) {
    throw WorkloadError(origin + ": expected a JSON object at the top level, got " +
                        printable(describe(doc)));
  }

  // Parameters: declared defaults, then --set.
  ParamState ps;
  const KeyPath root{};
  if (auto it = doc.find("params"); it != doc.end()) {
    const KeyPath at = root.key("params");
    if (!it->is_object()) {
      throw WorkloadError(origin + ": params: expected an object of name: default value, got " +
                          printable(describe(*it)));
    }
    if (it->size() > static_cast<size_t>(kMaxParams)) {
      throw WorkloadError(origin + ": params: more than " + std::to_string(kMaxParams) +
                          " parameters");
    }
    for (auto p = it->begin(); p != it->end(); ++p) {
      const KeyPath pp = at.key(p.key());
      if (!valid_param_name(p.key())) {
        throw WorkloadError(origin + ": " + printable(pp.dotted) +
                            ": a parameter name is a letter or _ then letters, digits or _ "
                            "(at most 64)");
      }
      const json& v = p.value();
      if (!(v.is_number() || v.is_boolean() || v.is_string())) {
        throw WorkloadError(origin + ": " + printable(pp.dotted) +
                            ": expected a number, true/false or a string, got " +
                            printable(describe(v)));
      }
      if (v.is_number_float() && !std::isfinite(v.get<double>())) {
        throw WorkloadError(origin + ": " + printable(pp.dotted) + ": expected a finite number");
      }
      if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (s.find("${") != std::string::npos) {
          throw WorkloadError(origin + ": " + printable(pp.dotted) +
                              ": a parameter's value cannot reference a parameter");
        }
        if (s.size() > kMaxStringParamLen) {
          throw WorkloadError(origin + ": " + printable(pp.dotted) +
                              ": expected a string of at most 256 bytes");
        }
      }
      ps.order.push_back(p.key());
      // Numbers keep one integer type, so --set parses them alike.
      ps.values[p.key()] =
          v.is_number_unsigned() && v.get<uint64_t>() <= INT64_MAX ? json(v.get<int64_t>()) : v;
    }
  }
  for (const std::string& set : sets) {
    const size_t eq = set.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw WorkloadError(origin + ": --set " + printable(quote(set)) + ": expected key=value");
    }
    const std::string key = set.substr(0, eq);
    auto it = ps.values.find(key);
    if (it == ps.values.end()) {
      throw WorkloadError(origin + ": --set " + printable(set) + ": unknown parameter " +
                          printable(quote(key)) + " (this workload declares: " +
                          (ps.order.empty() ? std::string("none") : join(ps.order)) + ")");
    }
    it->second = parse_set_value(set, set.substr(eq + 1), it->second, origin);
  }

  Workload w;
  substitute(doc, root, ps, w.refs, origin);
  for (const auto& name : ps.order) {
    if (ps.uses[name] == 0) {
      throw WorkloadError(origin + ": params." + name + ": declared but never referenced (as \"${" +
                          name + "}\")");
    }
    w.params.push_back({name, ps.values[name].dump()});
  }
  Parser parser(origin, w.refs);
  return parser.parse(doc, std::move(w));
}

std::string builtin_text(const std::string& name) {
  for (const auto& b : detail::builtin_workloads()) {
    if (name == b.name) return b.text;
  }
  return {};
}

std::vector<std::string> builtin_names() {
  std::vector<std::string> out;
  for (const auto& b : detail::builtin_workloads()) out.emplace_back(b.name);
  return out;
}

std::vector<std::string> default_suite() {
  // Seven cells per model: at the harness's default 2 s per cell, the five
  // models take about 75 s.
  return {"kernel-path", "spinlock-path",  "long-kernel-path", "irq-storm",
          "fair-lazy",   "lock-inversion", "messaging"};
}

namespace {

std::string file_kind(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a file";
}

}  // namespace

Workload load_workload(const std::string& name_or_file, const std::vector<std::string>& sets) {
  const bool is_file =
      name_or_file.find('/') != std::string::npos ||
      (name_or_file.size() >= 5 && name_or_file.compare(name_or_file.size() - 5, 5, ".json") == 0);
  if (!is_file) {
    const std::string text = builtin_text(name_or_file);
    if (text.empty()) {
      throw WorkloadError("unknown workload " + printable(quote(name_or_file)) + " (built-ins: " +
                          join(builtin_names()) + "; a file name contains '/' or ends in .json)");
    }
    return parse_workload(text, "builtin:" + name_or_file, sets);
  }
  const std::string origin = printable(name_or_file);
  // A FIFO or a device is refused before it is opened for reading (opening a
  // FIFO blocks until a writer comes; a device may never end): stat() first,
  // then open non-blocking and check the opened file again (it may have been
  // replaced in between).
  struct stat st {};
  if (::stat(name_or_file.c_str(), &st) != 0) {
    throw WorkloadError(origin + ": cannot read: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    throw WorkloadError(origin + ": cannot read: not a regular file (" + file_kind(st.st_mode) +
                        ")");
  }
  const int fd = ::open(name_or_file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw WorkloadError(origin + ": cannot read: " + std::strerror(errno));
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw WorkloadError(origin + ": cannot read: not a regular file");
  }
  FILE* f = ::fdopen(fd, "rb");
  if (f == nullptr) {
    ::close(fd);
    throw WorkloadError(origin + ": cannot read: " + std::strerror(errno));
  }
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxTextBytes) break;
  }
  const bool err = std::ferror(f) != 0;
  std::fclose(f);
  if (err) throw WorkloadError(origin + ": cannot read: I/O error");
  return parse_workload(text, origin, sets);
}

std::string to_json_text(const Workload& w) {
  std::set<std::string> referenced;
  for (const auto& r : w.refs) referenced.insert(r.pointer);
  const Writer wr{referenced};
  ojson o = ojson::object();
  o["format"] = kWorkloadFormat;
  o["name"] = w.name;
  if (!w.description.empty()) o["description"] = w.description;
  if (!w.params.empty()) {
    ojson p = ojson::object();
    for (const auto& param : w.params) p[param.name] = ojson::parse(param.json);
    o["params"] = std::move(p);
  }
  if (!w.locks.empty()) {
    ojson a = ojson::array();
    for (const auto& l : w.locks) a.push_back({{"name", l.name}, {"type", to_string(l.kind)}});
    o["locks"] = std::move(a);
  }
  if (!w.channels.empty()) o["channels"] = w.channels;
  if (!w.irqs.empty()) {
    ojson a = ojson::array();
    for (size_t i = 0; i < w.irqs.size(); ++i)
      a.push_back(wr.irq(w.irqs[i], "/irqs/" + std::to_string(i)));
    o["irqs"] = std::move(a);
  }
  ojson tasks = ojson::array();
  for (size_t i = 0; i < w.tasks.size(); ++i) {
    tasks.push_back(wr.task(w.tasks[i], "/tasks/" + std::to_string(i)));
  }
  o["tasks"] = std::move(tasks);
  // Write references back where the value is still the parameter's.
  for (const auto& r : w.refs) {
    auto p = std::find_if(w.params.begin(), w.params.end(),
                          [&](const Param& x) { return x.name == r.param; });
    if (p == w.params.end()) continue;
    const ojson::json_pointer ptr(r.pointer);
    if (o.contains(ptr) && o[ptr] == ojson::parse(p->json)) o[ptr] = "${" + r.param + "}";
  }
  return o.dump(2) + "\n";
}

}  // namespace pb::wl
