// Format detection, the file layer (regular files only, bounded size) and the
// directory walk. The readers themselves are in *_reader.cc.
#include "pb/report/readers.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "reader_util.h"

namespace pb::report {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string_view to_string(SourceFormat f) {
  switch (f) {
    case SourceFormat::kRun:
      return "preemptbench.run/1";
    case SourceFormat::kPbCyclic:
      return "preemptbench.cyclic/1";
    case SourceFormat::kCyclictestJson:
      return "cyclictest --json";
    case SourceFormat::kHistogramText:
      return "cyclictest histogram";
  }
  return "?";
}

namespace {

constexpr size_t kMaxFilesPerDirectory = 100'000;
// Each record holds a ~30 KiB histogram: 50,000 is ~1.5 GiB.
constexpr size_t kMaxRecords = 50'000;

bool is_histogram_line(std::string_view line) {
  // "000017 000172\t000152": digits, then whitespace-separated digits.
  size_t i = 0;
  int words = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    if (i == line.size()) break;
    const size_t start = i;
    while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
    if (i == start) return false;
    if (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') return false;
    ++words;
  }
  return words >= 2;
}

Detected detect_text(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line == "# Histogram") return Detected::kHistogramText;
    if (line.empty() || line[0] == '#' || line.substr(0, 2) == "T:") continue;
    return is_histogram_line(line) ? Detected::kHistogramText : Detected::kOtherText;
  }
  return Detected::kOtherText;
}

std::string schema_of(const json& j) {
  const auto s = j.find("schema");
  return s != j.end() && s->is_string() ? s->get<std::string>() : "";
}

}  // namespace

Detected detect(std::string_view text) {
  if (detail::looks_binary(text)) return Detected::kBinary;
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Detected::kOtherText;
  if (text[first] != '{' && text[first] != '[') return detect_text(text);
  json j;
  try {
    j = detail::parse_json(text);
  } catch (const std::exception&) {
    return Detected::kBrokenJson;
  }
  if (!j.is_object()) return Detected::kOtherJson;
  const std::string schema = schema_of(j);
  if (schema.rfind("preemptbench.run/", 0) == 0) return Detected::kRun;
  if (schema.rfind("preemptbench.cyclic/", 0) == 0) return Detected::kPbCyclic;
  if (j.contains("schema")) return Detected::kOtherJson;
  if (j.contains("file_version") && j.contains("thread")) return Detected::kCyclictestJson;
  return Detected::kOtherJson;
}

bool read_result(std::string_view text, const std::string& name, const std::string& label,
                 std::vector<Record>* out, std::string* error) {
  const auto bad = [&](const std::string& what) {
    if (error != nullptr) *error = name + ": " + what;
    return false;
  };
  switch (detect(text)) {
    case Detected::kRun:
      return read_run(text, name, out, error);
    case Detected::kPbCyclic:
      return read_pb_cyclic(text, name, out, error);
    case Detected::kCyclictestJson:
      return read_cyclictest_json(text, name, out, error);
    case Detected::kHistogramText:
      return read_histogram_text(text, name, label, out, error);
    case Detected::kBrokenJson:
      try {
        detail::parse_json(text);
      } catch (const std::exception& e) {
        return bad(e.what());
      }
      return bad("not valid JSON");
    case Detected::kOtherJson: {
      std::string schema;
      try {
        const json j = detail::parse_json(text);
        if (j.is_object()) schema = schema_of(j);
        if (j.is_object() && j.contains("schema_version") && j.contains("hostname")) {
          return bad("a machine fingerprint (preemptbench sysinfo --json), not a result");
        }
      } catch (const std::exception&) {
      }
      if (!schema.empty()) {
        return bad(
            fmt::format("unknown schema \"{}\" (reads preemptbench.run/1, preemptbench.cyclic/1, "
                        "cyclictest --json and cyclictest histogram text)",
                        schema.substr(0, 80)));
      }
      return bad(
          "JSON, but not a result: no preemptbench \"schema\", and not cyclictest's "
          "(\"file_version\" and \"thread\")");
    }
    case Detected::kOtherText:
      return bad(
          "not a result file: neither JSON nor a cyclictest histogram "
          "(no \"# Histogram\" line, no histogram lines)");
    case Detected::kBinary:
      return bad("binary data (NUL bytes or invalid UTF-8), not a result file");
  }
  return bad("unreadable");
}

bool read_text_file(const std::string& path, std::string* text, std::string* error) {
  const auto bad = [&](const std::string& what) {
    if (error != nullptr) *error = path + ": " + what;
    return false;
  };
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return bad(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return bad(S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxFileBytes) {
    ::close(fd);
    return bad(fmt::format("{} bytes: larger than the {} MiB a result file may have", st.st_size,
                           kMaxFileBytes >> 20));
  }
  std::string s;
  s.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return bad(std::strerror(e));
    }
    if (n == 0) break;
    if (s.size() + static_cast<size_t>(n) > kMaxFileBytes) {
      ::close(fd);
      return bad(fmt::format("larger than the {} MiB a result file may have", kMaxFileBytes >> 20));
    }
    s.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  *text = std::move(s);
  return true;
}

namespace {

// "host1/cyclictest" for ROOT/host1/cyclictest.txt.
std::string label_for(const fs::path& file, const fs::path& root) {
  fs::path rel = root.empty() ? file.filename() : file.lexically_relative(root);
  if (rel.empty() || rel.native().rfind("..", 0) == 0) rel = file.filename();
  rel.replace_extension();
  std::string s = rel.generic_string();
  return s.empty() ? "unknown" : s;
}

// scripts/fleet/site.yml's summary (schema preemptbench.fleet/1): names every
// inventory host that gave no results, so a report over a fleet run says which
// machines are missing from it. False when `text` is not such a summary.
bool fleet_notes(const std::string& text, std::vector<std::string>* notes) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || doc.value("schema", json()) != "preemptbench.fleet/1") return false;
  const json hosts = doc.value("hosts", json::array());
  if (!hosts.is_array()) return false;
  size_t ok = 0;
  for (const json& h : hosts) {
    if (!h.is_object()) continue;
    const std::string name = h.value("name", json("?")).is_string() ? h.value("name", "?") : "?";
    const std::string status =
        h.value("status", json("?")).is_string() ? h.value("status", "?") : "?";
    if (status == "ok") {
      ++ok;
      continue;
    }
    std::string line = fmt::format("fleet: {} {}", name, status);
    if (h.contains("failed_task") && h["failed_task"].is_string())
      line += fmt::format(" in task '{}'", h["failed_task"].get<std::string>());
    if (h.contains("message") && h["message"].is_string())
      line += fmt::format(": {}", h["message"].get<std::string>());
    notes->push_back(std::move(line));
  }
  notes->push_back(fmt::format("fleet: {} of {} hosts gave results", ok, hosts.size()));
  return true;
}

bool wanted_in_directory(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".json" || ext == ".txt" || ext == ".hist";
}

}  // namespace

bool collect(const std::vector<std::string>& paths, std::vector<Record>* out,
             std::vector<std::string>* notes, std::string* error) {
  const auto bad = [&](const std::string& what) {
    if (error != nullptr) *error = what;
    return false;
  };
  std::vector<Record> all;
  for (const std::string& arg : paths) {
    std::error_code ec;
    const fs::file_status st = fs::status(arg, ec);
    if (ec || !fs::exists(st)) return bad(arg + ": no such file or directory");
    if (!fs::is_directory(st)) {
      std::string text, why;
      if (!read_text_file(arg, &text, &why)) return bad(why);
      if (!read_result(text, arg, label_for(arg, {}), &all, &why)) return bad(why);
      if (all.size() > kMaxRecords)
        return bad(fmt::format("more than {} cells in all", kMaxRecords));
      continue;
    }
    std::vector<fs::path> files;
    fs::recursive_directory_iterator it(arg, fs::directory_options::none, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code ec2;
      if (!it->is_regular_file(ec2) || !wanted_in_directory(it->path())) continue;
      if (files.size() == kMaxFilesPerDirectory) {
        return bad(fmt::format("{}: more than {} files", arg, kMaxFilesPerDirectory));
      }
      files.push_back(it->path());
    }
    if (ec) return bad(fmt::format("{}: {}", arg, ec.message()));
    std::sort(files.begin(), files.end());
    size_t taken = 0;
    for (const fs::path& f : files) {
      const std::string name = f.string();
      std::string text, why;
      if (!read_text_file(name, &text, &why)) return bad(why);
      const Detected d = detect(text);
      const bool json_name = f.extension() == ".json";
      const bool result = d == Detected::kRun || d == Detected::kPbCyclic ||
                          d == Detected::kCyclictestJson || d == Detected::kHistogramText;
      // A broken or binary .json is most likely a truncated result: an error.
      if (result || (json_name && (d == Detected::kBrokenJson || d == Detected::kBinary))) {
        if (!read_result(text, name, label_for(f, arg), &all, &why)) return bad(why);
        if (all.size() > kMaxRecords)
          return bad(fmt::format("more than {} cells in all", kMaxRecords));
        ++taken;
        continue;
      }
      if (notes != nullptr && d == Detected::kOtherJson && fleet_notes(text, notes)) continue;
      if (notes != nullptr) {
        notes->push_back(fmt::format("skipped {}: {}", name,
                                     d == Detected::kOtherJson ? "JSON that is not a result"
                                     : d == Detected::kBinary
                                         ? "binary data"
                                         : "text that is not a cyclictest histogram"));
      }
    }
    if (taken == 0) return bad(arg + ": no result files in this directory");
  }
  for (auto& m : all) out->push_back(std::move(m));
  return true;
}

}  // namespace pb::report
