// The machine fingerprint: pure parsers first, then the collector that feeds
// them with what this machine's files say, then the renderings.
#include "pb/sysinfo.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <exception>
#include <system_error>

#include <fmt/format.h>
#include <hwloc.h>
#include <zlib.h>

#include "pb/cycleclock.h"
#include "pb/sys.h"
#include "pb/utc.h"
#include "pb/version.h"
#include "text_util.h"

namespace pb {
namespace {

using text::kMaxCpu;
using text::parse_uint;
using text::trim;

constexpr char kDebugfsPreempt[] = "/sys/kernel/debug/sched/preempt";
constexpr char kSysRealtime[] = "/sys/kernel/realtime";
constexpr char kCpuDmaLatency[] = "/dev/cpu_dma_latency";
constexpr std::array<std::string_view, 4> kDynamicModes = {"none", "voluntary", "full", "lazy"};

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    fn(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
}

std::optional<int64_t> parse_int(std::string_view s) {
  s = trim(s);
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

bool is_dynamic_mode(std::string_view m) {
  return std::find(kDynamicModes.begin(), kDynamicModes.end(), m) != kDynamicModes.end();
}

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

}  // namespace

// --- pure parsers -------------------------------------------------------------

KernelConfig parse_kernel_config(std::string_view text) {
  KernelConfig config;
  constexpr std::string_view kNotSetPrefix = "# CONFIG_";
  constexpr std::string_view kNotSetSuffix = " is not set";
  for_each_line(text, [&](std::string_view raw) {
    const std::string_view line = trim(raw);
    if (line.starts_with(kNotSetPrefix) && line.ends_with(kNotSetSuffix)) {
      const std::string_view name =
          line.substr(2, line.size() - 2 - kNotSetSuffix.size());  // "CONFIG_X"
      if (name.find(' ') == std::string_view::npos) config[std::string(name)] = "n";
      return;
    }
    if (!line.starts_with("CONFIG_")) return;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) return;
    std::string_view value = line.substr(eq + 1);
    std::string unquoted;
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
      for (size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;  // Kconfig escapes \" and \\ only
        unquoted += value[i];
      }
    } else {
      unquoted = std::string(value);
    }
    config[std::string(line.substr(0, eq))] = std::move(unquoted);
  });
  return config;
}

std::optional<std::string> parse_debugfs_preempt(std::string_view text) {
  std::optional<std::string> current;
  for (std::string_view tok : split_ws(text)) {
    if (tok.size() < 3 || tok.front() != '(' || tok.back() != ')') continue;
    const std::string_view mode = tok.substr(1, tok.size() - 2);
    if (current || !is_dynamic_mode(mode)) return std::nullopt;  // two currents, or unknown word
    current = std::string(mode);
  }
  return current;
}

std::optional<std::pair<int, int>> parse_kernel_release(std::string_view release) {
  const size_t dot = release.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  size_t end = dot + 1;
  while (end < release.size() && release[end] >= '0' && release[end] <= '9') ++end;
  const auto major = parse_uint(release.substr(0, dot), 1000);
  const auto minor = parse_uint(release.substr(dot + 1, end - dot - 1), 1000);
  if (!major || !minor) return std::nullopt;
  return std::pair<int, int>{static_cast<int>(*major), static_cast<int>(*minor)};
}

namespace {

std::string config_value(const KernelConfig* config, const std::string& key) {
  if (!config) return {};
  const auto it = config->find(key);
  return it == config->end() ? std::string() : it->second;
}

// The Kconfig preemption choice, which is also the dynamic boot default.
std::optional<std::string> config_choice(const KernelConfig& config) {
  if (config_value(&config, "CONFIG_PREEMPT_LAZY") == "y") return "lazy";
  if (config_value(&config, "CONFIG_PREEMPT") == "y") return "full";
  if (config_value(&config, "CONFIG_PREEMPT_VOLUNTARY") == "y") return "voluntary";
  if (config_value(&config, "CONFIG_PREEMPT_NONE") == "y") return "none";
  return std::nullopt;
}

struct UnameFlags {
  bool known = false;    // uname -v was available
  bool rt = false;       // PREEMPT_RT (or pre-5.3 RT patches' "PREEMPT RT")
  bool dynamic = false;  // PREEMPT_DYNAMIC
  bool preempt = false;  // plain PREEMPT: CONFIG_PREEMPT_BUILD without DYNAMIC/RT
};

UnameFlags uname_flags(std::string_view version) {
  UnameFlags f;
  f.known = true;
  bool rt_word = false;
  for (std::string_view tok : split_ws(version)) {
    if (tok == "PREEMPT_RT") f.rt = true;
    if (tok == "PREEMPT_DYNAMIC") f.dynamic = true;
    if (tok == "PREEMPT") f.preempt = true;
    if (tok == "RT") rt_word = true;
  }
  if (f.preempt && rt_word) f.rt = true;
  return f;
}

}  // namespace

PreemptModelInfo detect_preempt_model(const PreemptSources& s) {
  PreemptModelInfo out;
  // Sources the answer rests on, by precedence rank.
  enum Rank { kDebugfs, kRealtime, kConfig, kCmdline, kUname, kRanks };
  std::array<bool, kRanks> used{};

  const KernelConfig* cfg = s.kernel_config ? &*s.kernel_config : nullptr;
  const std::string cfg_name =
      s.kernel_config_origin.empty() ? std::string("kernel config") : s.kernel_config_origin;
  const std::optional<std::string> debug_mode =
      s.debugfs_preempt ? parse_debugfs_preempt(*s.debugfs_preempt) : std::nullopt;
  // A plain struct with `known`, not std::optional: GCC 12 warns
  // maybe-uninitialized on the optional's payload here.
  const UnameFlags uname = s.uname_version ? uname_flags(*s.uname_version) : UnameFlags{};
  const std::optional<std::pair<int, int>> release =
      s.uname_release ? parse_kernel_release(*s.uname_release) : std::nullopt;
  const bool before_lazy = release && *release < std::pair<int, int>{6, 13};
  std::vector<std::string> notes;

  // RT: the realtime file exists only on PREEMPT_RT kernels and says "1".
  std::string rt_from;
  if (s.sys_realtime && trim(*s.sys_realtime) == "1") {
    out.rt = true;
    used[kRealtime] = true;
    rt_from = kSysRealtime;
  } else if (cfg) {
    out.rt = config_value(cfg, "CONFIG_PREEMPT_RT") == "y";
    used[kConfig] = true;
    rt_from = cfg_name;
  } else if (uname.known) {
    out.rt = uname.rt;
    used[kUname] = true;
    rt_from = "uname -v";
  }

  // Dynamic: the debugfs file exists only on PREEMPT_DYNAMIC kernels.
  bool dynamic_known = true;
  if (debug_mode) {
    out.dynamic = true;
    used[kDebugfs] = true;
  } else if (cfg) {
    out.dynamic = config_value(cfg, "CONFIG_PREEMPT_DYNAMIC") == "y";
    used[kConfig] = true;
  } else if (uname.known) {
    out.dynamic = uname.dynamic;
    used[kUname] = true;
    // uname -v prints one token and PREEMPT_RT outranks PREEMPT_DYNAMIC.
    if (uname.rt) dynamic_known = false;
  } else {
    dynamic_known = false;
  }

  // Mode (none/voluntary/full/lazy).
  std::string mode = "unknown";
  if (debug_mode) {
    mode = *debug_mode;
    out.runtime_mode = mode;
  } else if (out.dynamic) {
    out.runtime_mode = "unknown";
  } else if (cfg) {
    if (auto c = config_choice(*cfg)) {
      mode = *c;
      used[kConfig] = true;
    }
  } else if (uname.known && !uname.rt && !uname.dynamic) {
    used[kUname] = true;
    if (uname.preempt && before_lazy) {
      mode = "full";
    } else if (uname.preempt) {
      notes.push_back(
          "uname -v says PREEMPT: full, or lazy on 6.13 and later (release unknown or >= 6.13)");
    } else {
      notes.push_back("uname -v carries no PREEMPT token: none or voluntary, uname cannot tell");
    }
  }

  // Boot default of a dynamic kernel: the last valid preempt= wins, else Kconfig.
  if (out.dynamic) {
    const bool lazy_ok =
        cfg ? config_value(cfg, "CONFIG_ARCH_HAS_PREEMPT_LAZY") == "y" : (release && !before_lazy);
    std::optional<std::string> from_cmdline;
    if (s.cmdline) {
      for (std::string_view tok : split_ws(*s.cmdline)) {
        if (!tok.starts_with("preempt=")) continue;
        const std::string_view m = tok.substr(8);
        if (!is_dynamic_mode(m)) continue;
        if (m == "lazy" && !lazy_ok) continue;
        if (out.rt && (m == "none" || m == "voluntary")) continue;  // RT rejects these
        from_cmdline = std::string(m);
      }
    }
    if (from_cmdline) {
      out.boot_default = *from_cmdline;
      out.boot_default_source = "kernel command line (preempt=)";
      used[kCmdline] = true;
    } else if (cfg && config_choice(*cfg)) {
      out.boot_default = *config_choice(*cfg);
      out.boot_default_source = cfg_name;
      used[kConfig] = true;
    } else {
      out.boot_default = "unknown";
    }
  }

  out.model = out.rt ? "rt" : mode;

  const std::array<std::string, kRanks> names = {kDebugfsPreempt, kSysRealtime, cfg_name,
                                                 "/proc/cmdline", "uname -v"};
  std::string source;
  for (int r = 0; r < kRanks; ++r) {
    if (!used[static_cast<size_t>(r)]) continue;
    if (!source.empty()) source += " + ";
    source += names[static_cast<size_t>(r)];
  }
  out.source = source.empty() ? "none" : source;

  // The human sentence: what is known, from where, and what is not.
  std::vector<std::string> parts;
  if (out.rt) parts.push_back(fmt::format("PREEMPT_RT kernel (from {})", rt_from));
  if (debug_mode) {
    parts.push_back(fmt::format("PREEMPT_DYNAMIC kernel, current mode '{}' (from {})", *debug_mode,
                                kDebugfsPreempt));
  } else if (out.dynamic) {
    const std::string why = s.debugfs_preempt         ? std::string("unparsable")
                            : s.debugfs_error.empty() ? std::string("not readable")
                                                      : s.debugfs_error;
    parts.push_back(fmt::format(
        "PREEMPT_DYNAMIC kernel; boot default '{}'{}; runtime mode unknown ({}: {})",
        out.boot_default,
        out.boot_default_source.empty() ? std::string()
                                        : fmt::format(" (from {})", out.boot_default_source),
        kDebugfsPreempt, why));
  } else if (!dynamic_known && out.rt) {
    parts.push_back(
        "whether it is also PREEMPT_DYNAMIC is unknown (uname -v shows PREEMPT_RT only)");
  } else if (mode != "unknown") {
    const char* from = used[kConfig] ? cfg_name.c_str() : "uname -v";
    parts.push_back(out.rt ? fmt::format("built with preemption model '{}' (from {})", mode, from)
                           : fmt::format("static model '{}' (from {})", mode, from));
  }
  for (auto& n : notes) parts.push_back(std::move(n));
  if (out.source == "none") {
    parts.push_back(
        "no source could be read (debugfs sched/preempt, /sys/kernel/realtime, kernel config, "
        "uname -v)");
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out.detail += "; ";
    out.detail += parts[i];
  }
  return out;
}

std::optional<int> config_hz(const std::optional<KernelConfig>& config) {
  if (!config) return std::nullopt;
  const auto v = parse_uint(config_value(&*config, "CONFIG_HZ"), 1'000'000);
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

std::string config_no_hz(const std::optional<KernelConfig>& config) {
  if (!config) return "unknown (no kernel config)";
  if (config_value(&*config, "CONFIG_NO_HZ_FULL") == "y") return "NO_HZ_FULL";
  if (config_value(&*config, "CONFIG_NO_HZ_IDLE") == "y") return "NO_HZ_IDLE";
  if (config_value(&*config, "CONFIG_HZ_PERIODIC") == "y") return "HZ_PERIODIC";
  return "unknown (no NO_HZ choice in kernel config)";
}

std::string config_high_res_timers(const std::optional<KernelConfig>& config) {
  if (!config) return "unknown (no kernel config)";
  const std::string v = config_value(&*config, "CONFIG_HIGH_RES_TIMERS");
  if (v == "y") return "yes";
  if (v == "n") return "no";
  return "unknown (CONFIG_HIGH_RES_TIMERS absent from kernel config)";
}

std::string parse_cpu_model(std::string_view cpuinfo) {
  std::string implementer, part;
  std::optional<std::string> model;
  for_each_line(cpuinfo, [&](std::string_view line) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;
    const std::string_view key = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (key == "model name" && !model && !value.empty()) model = std::string(value);
    if (key == "CPU implementer" && implementer.empty()) implementer = std::string(value);
    if (key == "CPU part" && part.empty()) part = std::string(value);
  });
  if (model) return *model;
  if (!implementer.empty()) {
    // MIDR implementer codes (arch/arm64/include/asm/cputype.h).
    static constexpr std::pair<std::string_view, std::string_view> kImplementers[] = {
        {"0x41", "Arm"},       {"0x42", "Broadcom"},  {"0x43", "Cavium"}, {"0x46", "Fujitsu"},
        {"0x48", "HiSilicon"}, {"0x4e", "NVIDIA"},    {"0x50", "APM"},    {"0x51", "Qualcomm"},
        {"0x61", "Apple"},     {"0x6d", "Microsoft"}, {"0xc0", "Ampere"}};
    std::string name = implementer;
    for (const auto& [code, vendor] : kImplementers) {
      if (implementer == code) name = fmt::format("{} ({})", vendor, code);
    }
    return part.empty() ? fmt::format("CPU implementer {}", name)
                        : fmt::format("{} part {}", name, part);
  }
  return "unknown (no 'model name' or 'CPU implementer' in /proc/cpuinfo)";
}

std::optional<bool> cpuinfo_hypervisor_flag(std::string_view cpuinfo) {
  std::optional<bool> found;
  for_each_line(cpuinfo, [&](std::string_view line) {
    if (found) return;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || trim(line.substr(0, colon)) != "flags") return;
    const auto words = split_ws(line.substr(colon + 1));
    found = std::find(words.begin(), words.end(), "hypervisor") != words.end();
  });
  return found;
}

// --- collection ---------------------------------------------------------------

namespace {

constexpr size_t kMaxFileBytes = 64u << 20;

// Whole file, or nullopt with `*err` set to the reason (errno text).
std::optional<std::string> read_text(const std::string& path, std::string* err = nullptr,
                                     int* err_no = nullptr) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    if (err) *err = errno_text(e);
    if (err_no) *err_no = e;
    return std::nullopt;
  }
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      if (err) *err = errno_text(e);
      if (err_no) *err_no = e;
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxFileBytes) break;
  }
  ::close(fd);
  return out;
}

// A gzip file decompressed with zlib (plain files pass through unchanged).
std::optional<std::string> read_gzip(const std::string& path, std::string* err) {
  errno = 0;
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) {
    *err = errno ? errno_text(errno) : std::string("gzopen failed");
    return std::nullopt;
  }
  std::string out;
  char buf[16384];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int zerr = 0;
      const char* msg = gzerror(f, &zerr);
      *err = zerr == Z_ERRNO ? errno_text(errno) : std::string(msg ? msg : "gzread failed");
      gzclose(f);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxFileBytes) break;
  }
  gzclose(f);
  return out;
}

// Trimmed one-line sysfs/proc value, or "unknown (<path>: <why>)".
std::string read_value(const std::string& path) {
  std::string err;
  if (auto t = read_text(path, &err)) return std::string(trim(*t));
  return fmt::format("unknown ({}: {})", path, err);
}

void collect_topology(TopologyInfo& topo) {
  hwloc_topology_t t;
  if (hwloc_topology_init(&t) != 0) {
    topo.reason = "hwloc_topology_init failed";
    return;
  }
  // Instruction caches are filtered out by default.
  hwloc_topology_set_icache_types_filter(t, HWLOC_TYPE_FILTER_KEEP_ALL);
  if (hwloc_topology_load(t) != 0) {
    topo.reason = fmt::format("hwloc_topology_load failed: {}", errno_text(errno));
    hwloc_topology_destroy(t);
    return;
  }
  struct Key {
    unsigned depth;
    int kind;  // 0 data, 1 instruction, 2 unified: the display order within a level
    uint64_t size;
    auto operator<=>(const Key&) const = default;
  };
  std::map<Key, unsigned> caches;
  const int depths = hwloc_topology_get_depth(t);
  for (int d = 0; d < depths; ++d) {
    const unsigned n = hwloc_get_nbobjs_by_depth(t, d);
    for (unsigned i = 0; i < n; ++i) {
      const hwloc_obj_t o = hwloc_get_obj_by_depth(t, d, i);
      switch (o->type) {
        case HWLOC_OBJ_PACKAGE:
          ++topo.packages;
          break;
        case HWLOC_OBJ_CORE:
          ++topo.cores;
          if (o->cpuset && hwloc_bitmap_weight(o->cpuset) > 1) topo.smt = true;
          break;
        case HWLOC_OBJ_PU:
          ++topo.pus;
          break;
        default:
          if (hwloc_obj_type_is_cache(o->type)) {
            const int kind = o->attr->cache.type == HWLOC_OBJ_CACHE_DATA          ? 0
                             : o->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION ? 1
                                                                                  : 2;
            ++caches[Key{o->attr->cache.depth, kind, o->attr->cache.size}];
          }
          break;
      }
    }
  }
  const int numa = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
  topo.numa_nodes = numa > 0 ? static_cast<unsigned>(numa) : 0;
  hwloc_topology_destroy(t);
  for (const auto& [key, count] : caches) {
    static constexpr const char* kSuffix[] = {"d", "i", ""};
    topo.caches.push_back(
        CacheInfo{fmt::format("L{}{}", key.depth, kSuffix[key.kind]), key.size, count});
  }
  topo.available = topo.pus > 0;
  if (!topo.available) topo.reason = "hwloc found no processing units";
}

void collect_cpu(CpuInfo& cpu, const std::optional<std::string>& cpuinfo,
                 const std::string& cpuinfo_err) {
  cpu.model =
      cpuinfo ? parse_cpu_model(*cpuinfo) : fmt::format("unknown (/proc/cpuinfo: {})", cpuinfo_err);
  cpu.online = read_value("/sys/devices/system/cpu/online");
  if (auto l = parse_cpu_list(cpu.online)) cpu.online_count = static_cast<unsigned>(l->size());

  std::string err;
  if (auto t = read_text("/sys/devices/system/cpu/isolated", &err)) {
    const std::string_view v = trim(*t);
    cpu.isolated = v.empty() ? "none" : std::string(v);
  } else {
    cpu.isolated = fmt::format("unknown (/sys/devices/system/cpu/isolated: {})", err);
  }
  int err_no = 0;
  if (auto t = read_text("/sys/devices/system/cpu/nohz_full", &err, &err_no)) {
    // Without nohz_full= the mask is empty; some kernels print "(null)".
    const std::string_view v = trim(*t);
    cpu.nohz_full = v.empty() || v == "(null)" ? "none" : std::string(v);
  } else if (err_no == ENOENT) {
    cpu.nohz_full = "none (not configured)";  // kernel built without NO_HZ_FULL
  } else {
    cpu.nohz_full = fmt::format("unknown (/sys/devices/system/cpu/nohz_full: {})", err);
  }
}

void collect_cpufreq(CpufreqInfo& freq) {
  DIR* dir = ::opendir("/sys/devices/system/cpu");
  if (!dir) {
    freq.status = fmt::format("unknown (/sys/devices/system/cpu: {})", errno_text(errno));
    return;
  }
  while (const dirent* e = ::readdir(dir)) {
    const std::string_view name = e->d_name;
    if (!name.starts_with("cpu")) continue;
    const auto cpu = parse_uint(name.substr(3), kMaxCpu);
    if (!cpu) continue;
    if (auto gov =
            read_text(fmt::format("/sys/devices/system/cpu/{}/cpufreq/scaling_governor", name))) {
      freq.governors[static_cast<int>(*cpu)] = std::string(trim(*gov));
    }
  }
  ::closedir(dir);
  freq.status = freq.governors.empty() ? "unavailable (no cpufreq)" : "available";
}

void collect_scheduler(SchedulerInfo& sched) {
  std::string err;
  const auto runtime = read_text("/proc/sys/kernel/sched_rt_runtime_us", &err);
  if (runtime) sched.rt_runtime_us = parse_int(*runtime);
  const auto period = read_text("/proc/sys/kernel/sched_rt_period_us", &err);
  if (period) sched.rt_period_us = parse_int(*period);
  if (!sched.rt_runtime_us || !sched.rt_period_us) {
    sched.rt_throttling = fmt::format("unknown (/proc/sys/kernel/sched_rt_*: {})",
                                      err.empty() ? std::string("unparsable") : err);
  } else if (*sched.rt_runtime_us < 0) {
    sched.rt_throttling = "disabled (sched_rt_runtime_us = -1)";
  } else {
    const double pct = *sched.rt_period_us > 0 ? 100.0 * static_cast<double>(*sched.rt_runtime_us) /
                                                     static_cast<double>(*sched.rt_period_us)
                                               : 0.0;
    sched.rt_throttling = fmt::format("{} of {} us per period ({:.1f}% for RT tasks)",
                                      *sched.rt_runtime_us, *sched.rt_period_us, pct);
  }
}

RlimitInfo get_rlimit(int resource) {
  RlimitInfo r;
  rlimit lim{};
  if (::getrlimit(resource, &lim) != 0) return r;
  r.known = true;
  if (lim.rlim_cur != RLIM_INFINITY) r.soft = static_cast<uint64_t>(lim.rlim_cur);
  if (lim.rlim_max != RLIM_INFINITY) r.hard = static_cast<uint64_t>(lim.rlim_max);
  return r;
}

void collect_privileges(PrivilegeInfo& priv) {
  priv.euid = static_cast<unsigned>(::geteuid());
  priv.rlimit_rtprio = get_rlimit(RLIMIT_RTPRIO);
  priv.rlimit_memlock = get_rlimit(RLIMIT_MEMLOCK);
  const int fifo = sys::can_use_fifo(1);
  if (fifo < 0) {
    priv.rt_priority_detail = fmt::format("probe thread failed: {}", errno_text(-fifo));
  } else {
    priv.rt_priority_allowed = fifo == 1;
    priv.rt_priority_detail = fifo == 1 ? "SCHED_FIFO priority 1 granted to a probe thread"
                                        : "SCHED_FIFO priority 1 refused to a probe thread";
  }
  const long page = ::sysconf(_SC_PAGESIZE);
  const size_t len = page > 0 ? static_cast<size_t>(page) : 4096;
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    priv.mlock_detail = fmt::format("mmap of one page failed: {}", errno_text(errno));
    return;
  }
  if (::mlock(p, len) == 0) {
    priv.mlock_allowed = true;
    priv.mlock_detail = "mlock of one page succeeded";
    ::munlock(p, len);
  } else {
    priv.mlock_detail = fmt::format("mlock of one page failed: {}", errno_text(errno));
  }
  ::munmap(p, len);
}

template <typename Fn>
void guarded(MachineInfo& info, const char* section, Fn&& fn) noexcept {
  try {
    fn();
  } catch (const std::exception& e) {
    try {
      info.collection_errors.push_back(fmt::format("{}: {}", section, e.what()));
    } catch (...) {
    }
  } catch (...) {
    try {
      info.collection_errors.push_back(fmt::format("{}: unknown exception", section));
    } catch (...) {
    }
  }
}

}  // namespace

MachineInfo collect_machine_info() noexcept {
  MachineInfo info;
  guarded(info, "tool", [&] {
    info.collected_at = iso8601_utc(static_cast<int64_t>(std::time(nullptr)));
    info.tool.version = kVersion;
    info.tool.git_commit = kGitCommit;
    info.cycle_counter = cycleclock::source();
    info.cpu_dma_latency_present = ::access(kCpuDmaLatency, F_OK) == 0;
  });

  utsname uts{};
  const bool have_uts = ::uname(&uts) == 0;
  const int uname_errno = errno;
  guarded(info, "uname", [&] {
    const std::string unknown = fmt::format("unknown (uname: {})", errno_text(uname_errno));
    info.hostname = have_uts ? uts.nodename : unknown;
    info.architecture = have_uts ? uts.machine : unknown;
    info.kernel.release = have_uts ? uts.release : unknown;
    info.kernel.version = have_uts ? uts.version : unknown;
  });

  std::string cpuinfo_err;
  std::optional<std::string> cpuinfo;
  guarded(info, "cpu", [&] {
    cpuinfo = read_text("/proc/cpuinfo", &cpuinfo_err);
    collect_cpu(info.cpu, cpuinfo, cpuinfo_err);
  });
  guarded(info, "topology", [&] { collect_topology(info.topology); });

  std::optional<KernelConfig> config;
  guarded(info, "kernel config", [&] {
    std::string gz_err, boot_err;
    const std::string boot_path = fmt::format("/boot/config-{}", have_uts ? uts.release : "");
    if (auto text = read_gzip("/proc/config.gz", &gz_err)) {
      config = parse_kernel_config(*text);
      info.kernel.config_source = "/proc/config.gz";
    } else if (auto plain = have_uts ? read_text(boot_path, &boot_err) : std::nullopt) {
      config = parse_kernel_config(*plain);
      info.kernel.config_source = boot_path;
    } else {
      info.kernel.config_source =
          fmt::format("unavailable (/proc/config.gz: {}; {}: {})", gz_err, boot_path,
                      have_uts ? boot_err : std::string("uname failed"));
    }
  });

  guarded(info, "preemption", [&] {
    PreemptSources src;
    src.debugfs_preempt = read_text(kDebugfsPreempt, &src.debugfs_error);
    src.sys_realtime = read_text(kSysRealtime);
    src.kernel_config = config;
    src.kernel_config_origin = info.kernel.config_source;
    src.cmdline = read_text("/proc/cmdline");
    if (have_uts) {
      src.uname_version = std::string(uts.version);
      src.uname_release = std::string(uts.release);
    }
    info.preemption = detect_preempt_model(src);
  });

  guarded(info, "timers", [&] {
    info.timers.hz = config_hz(config);
    info.timers.no_hz = config_no_hz(config);
    info.timers.high_res_timers = config_high_res_timers(config);
    info.timers.clocksource =
        read_value("/sys/devices/system/clocksource/clocksource0/current_clocksource");
    const int slack = ::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    if (slack >= 0) info.timers.timer_slack_ns = slack;
  });

  guarded(info, "scheduler", [&] { collect_scheduler(info.scheduler); });
  guarded(info, "cpufreq", [&] { collect_cpufreq(info.cpufreq); });

  guarded(info, "virtualization", [&] {
    auto& v = info.virtualization;
    const std::optional<bool> flag = cpuinfo ? cpuinfo_hypervisor_flag(*cpuinfo) : std::nullopt;
    v.hypervisor_flag = !cpuinfo ? fmt::format("unknown (/proc/cpuinfo: {})", cpuinfo_err)
                        : !flag  ? std::string("unknown (no x86 flags line in /proc/cpuinfo)")
                        : *flag  ? std::string("present")
                                 : std::string("absent");
    if (auto t = read_text("/sys/hypervisor/type")) v.hypervisor_type = std::string(trim(*t));
    if (auto t = read_text("/sys/class/dmi/id/sys_vendor")) v.dmi_vendor = std::string(trim(*t));
    if (auto t = read_text("/sys/class/dmi/id/product_name")) v.dmi_product = std::string(trim(*t));
  });

  guarded(info, "privileges", [&] { collect_privileges(info.privileges); });
  return info;
}

// --- rendering ----------------------------------------------------------------

namespace {

nlohmann::json opt_json(const std::optional<int64_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json rlimit_json(const RlimitInfo& r) {
  if (!r.known) return nullptr;
  auto one = [](const std::optional<uint64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json("unlimited");
  };
  return {{"soft", one(r.soft)}, {"hard", one(r.hard)}};
}

std::string bytes_text(uint64_t b) {
  if (b >= (1u << 20) && b % (1u << 20) == 0) return fmt::format("{} MiB", b >> 20);
  if (b >= 1024 && b % 1024 == 0) return fmt::format("{} KiB", b >> 10);
  return fmt::format("{} B", b);
}

std::string rlimit_text(const RlimitInfo& r, bool bytes) {
  if (!r.known) return "unknown";
  auto one = [&](const std::optional<uint64_t>& v) {
    return !v ? std::string("unlimited") : bytes ? bytes_text(*v) : fmt::format("{}", *v);
  };
  return fmt::format("{} soft / {} hard", one(r.soft), one(r.hard));
}

std::string plural(unsigned n, const char* word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

}  // namespace

nlohmann::json to_json(const MachineInfo& m) {
  using nlohmann::json;
  json caches = json::array();
  for (const auto& c : m.topology.caches) {
    caches.push_back({{"level", c.level}, {"size_bytes", c.size_bytes}, {"count", c.count}});
  }
  json governors = json::object();
  for (const auto& [cpu, gov] : m.cpufreq.governors) governors[fmt::format("{}", cpu)] = gov;

  // nlohmann::ordered_json would keep insertion order, but readers get a plain
  // json (sorted keys): the contract is the key set, not the order.
  json j;
  j["schema_version"] = kMachineInfoSchemaVersion;
  j["collected_at"] = m.collected_at;
  j["tool"] = {
      {"name", m.tool.name}, {"version", m.tool.version}, {"git_commit", m.tool.git_commit}};
  j["hostname"] = m.hostname;
  j["architecture"] = m.architecture;
  j["cpu"] = {{"model", m.cpu.model},
              {"online", m.cpu.online},
              {"online_count", m.cpu.online_count ? json(*m.cpu.online_count) : json(nullptr)},
              {"isolated", m.cpu.isolated},
              {"nohz_full", m.cpu.nohz_full}};
  j["topology"] = {{"available", m.topology.available},
                   {"reason", m.topology.reason},
                   {"packages", m.topology.packages},
                   {"cores", m.topology.cores},
                   {"pus", m.topology.pus},
                   {"smt", m.topology.smt},
                   {"numa_nodes", m.topology.numa_nodes},
                   {"caches", caches}};
  j["kernel"] = {{"release", m.kernel.release},
                 {"version", m.kernel.version},
                 {"config_source", m.kernel.config_source}};
  const auto& p = m.preemption;
  j["preemption"] = {{"model", p.model},
                     {"rt", p.rt},
                     {"dynamic", p.dynamic},
                     {"runtime_mode", p.runtime_mode},
                     {"boot_default", p.boot_default},
                     {"boot_default_source", p.boot_default_source},
                     {"source", p.source},
                     {"detail", p.detail}};
  j["timers"] = {{"hz", m.timers.hz ? json(*m.timers.hz) : json(nullptr)},
                 {"no_hz", m.timers.no_hz},
                 {"high_res_timers", m.timers.high_res_timers},
                 {"clocksource", m.timers.clocksource},
                 {"timer_slack_ns", opt_json(m.timers.timer_slack_ns)}};
  j["scheduler"] = {{"rt_runtime_us", opt_json(m.scheduler.rt_runtime_us)},
                    {"rt_period_us", opt_json(m.scheduler.rt_period_us)},
                    {"rt_throttling", m.scheduler.rt_throttling}};
  j["cpufreq"] = {{"status", m.cpufreq.status}, {"governors", governors}};
  j["virtualization"] = {{"hypervisor_flag", m.virtualization.hypervisor_flag},
                         {"hypervisor_type", m.virtualization.hypervisor_type},
                         {"dmi_vendor", m.virtualization.dmi_vendor},
                         {"dmi_product", m.virtualization.dmi_product}};
  const auto& v = m.privileges;
  j["privileges"] = {
      {"euid", v.euid},
      {"rt_priority_allowed", v.rt_priority_allowed ? json(*v.rt_priority_allowed) : json(nullptr)},
      {"rt_priority_detail", v.rt_priority_detail},
      {"rlimit_rtprio", rlimit_json(v.rlimit_rtprio)},
      {"rlimit_memlock", rlimit_json(v.rlimit_memlock)},
      {"mlock_allowed", v.mlock_allowed},
      {"mlock_detail", v.mlock_detail}};
  j["cycle_counter"] = m.cycle_counter;
  j["cpu_dma_latency"] = {{"path", kCpuDmaLatency}, {"present", m.cpu_dma_latency_present}};
  j["collection_errors"] = m.collection_errors;
  return j;
}

std::vector<std::pair<std::string, std::string>> to_rows(const MachineInfo& m) {
  std::vector<std::pair<std::string, std::string>> rows;
  auto row = [&](std::string key, std::string value) {
    rows.emplace_back(std::move(key), std::move(value));
  };
  row("tool", fmt::format("{} {} (git {})", m.tool.name, m.tool.version, m.tool.git_commit));
  row("collected at", m.collected_at);
  row("hostname", m.hostname);
  row("architecture", m.architecture);
  row("cpu model", m.cpu.model);

  const auto& t = m.topology;
  if (t.available) {
    row("topology", fmt::format("{}, {}, {} ({}), {}", plural(t.packages, "package"),
                                plural(t.cores, "core"), plural(t.pus, "PU"),
                                t.smt ? "SMT" : "no SMT", plural(t.numa_nodes, "NUMA node")));
    std::string caches;
    for (const auto& c : t.caches) {
      if (!caches.empty()) caches += ", ";
      caches += fmt::format("{} {} x{}", c.level, bytes_text(c.size_bytes), c.count);
    }
    row("caches", caches.empty() ? std::string("unknown (hwloc reported none)") : caches);
  } else {
    row("topology", fmt::format("unavailable ({})", t.reason));
  }
  row("online cpus", m.cpu.online_count ? fmt::format("{} ({})", m.cpu.online, *m.cpu.online_count)
                                        : m.cpu.online);
  row("isolated cpus", m.cpu.isolated);
  row("nohz_full cpus", m.cpu.nohz_full);

  row("kernel release", m.kernel.release);
  row("kernel version", m.kernel.version);
  row("kernel config", m.kernel.config_source);

  const auto& p = m.preemption;
  row("preempt model", p.model);
  row("preempt rt", p.rt ? "yes" : "no");
  row("preempt dynamic", p.dynamic ? "yes" : "no");
  if (p.dynamic) {
    row("preempt runtime mode", p.runtime_mode);
    row("preempt boot default",
        p.boot_default_source.empty()
            ? p.boot_default
            : fmt::format("{} (from {})", p.boot_default, p.boot_default_source));
  }
  row("preempt source", p.source);
  row("preempt detail", p.detail);

  row("HZ", m.timers.hz ? fmt::format("{}", *m.timers.hz) : std::string("unknown (no CONFIG_HZ)"));
  row("NO_HZ", m.timers.no_hz);
  row("high-res timers", m.timers.high_res_timers);
  row("clocksource", m.timers.clocksource);
  row("timer slack", m.timers.timer_slack_ns ? fmt::format("{} ns", *m.timers.timer_slack_ns)
                                             : std::string("unknown (prctl failed)"));
  row("RT throttling", m.scheduler.rt_throttling);

  if (m.cpufreq.governors.empty()) {
    row("cpufreq governor", m.cpufreq.status);
  } else {
    std::map<std::string, std::vector<int>> by_gov;
    for (const auto& [cpu, gov] : m.cpufreq.governors) by_gov[gov].push_back(cpu);
    std::string s;
    for (const auto& [gov, cpus] : by_gov) {
      if (!s.empty()) s += ", ";
      s += fmt::format("{} (cpu {})", gov, format_cpu_list(cpus));
    }
    row("cpufreq governor", s);
  }

  const auto& v = m.virtualization;
  row("hypervisor flag", v.hypervisor_flag);
  row("hypervisor type", v.hypervisor_type.empty()
                             ? std::string("none (/sys/hypervisor/type absent)")
                             : v.hypervisor_type);
  row("DMI system", v.dmi_vendor.empty() && v.dmi_product.empty()
                        ? std::string("unreadable (/sys/class/dmi/id)")
                        : fmt::format("{} {}", v.dmi_vendor, v.dmi_product));

  const auto& pr = m.privileges;
  row("euid", fmt::format("{}", pr.euid));
  row("RT priority", fmt::format("{} ({}; RLIMIT_RTPRIO {})",
                                 !pr.rt_priority_allowed   ? "unknown"
                                 : *pr.rt_priority_allowed ? "allowed"
                                                           : "not allowed",
                                 pr.rt_priority_detail, rlimit_text(pr.rlimit_rtprio, false)));
  row("mlock",
      fmt::format("{} ({}; RLIMIT_MEMLOCK {})", pr.mlock_allowed ? "allowed" : "not allowed",
                  pr.mlock_detail, rlimit_text(pr.rlimit_memlock, true)));
  row("cycle counter", m.cycle_counter);
  row("/dev/cpu_dma_latency", m.cpu_dma_latency_present ? "present" : "absent");
  for (const auto& e : m.collection_errors) row("collection error", e);
  return rows;
}

std::string to_text(const MachineInfo& info) {
  const auto rows = to_rows(info);
  size_t width = 0;
  for (const auto& [k, v] : rows) width = std::max(width, k.size());
  std::string out;
  for (const auto& [k, v] : rows) out += fmt::format("{:<{}}  {}\n", k, width, v);
  return out;
}

}  // namespace pb
