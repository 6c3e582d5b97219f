// The machine fingerprint every result file carries: what the hardware, the
// kernel and this process's privileges were when a measurement ran.
//
// Contract:
// - collect_machine_info() never throws and never guesses: whatever it cannot
//   learn is reported as "unknown (<reason>)" (strings) or null (JSON
//   numbers), and a failure inside one section is recorded in
//   `collection_errors` instead of aborting the rest.
// - Every interpretation of kernel text (cpu lists, kernel config, the
//   debugfs preempt file, uname -v, /proc/cpuinfo) is a pure function of
//   strings declared below, so tests feed fixed inputs; collect_machine_info()
//   only reads files and calls them.
// - to_json() emits exactly the top-level keys in kMachineInfoJsonKeys; that
//   set and kMachineInfoSchemaVersion are the contract with result readers.
//   Adding a key bumps the schema version.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "pb/cpu_list.h"

namespace pb {

inline constexpr int kMachineInfoSchemaVersion = 1;

// Top-level keys of to_json(MachineInfo) (a plain nlohmann::json, so keys
// come out sorted; the set is the contract, not the order):
//   schema_version     int, kMachineInfoSchemaVersion
//   collected_at       string, UTC ISO-8601 ("2025-11-22T02:46:00Z")
//   tool               {name, version, git_commit}
//   hostname           string
//   architecture       string, uname machine ("x86_64", "aarch64")
//   cpu                {model, online, online_count, isolated, nohz_full}
//   topology           {available, reason, packages, cores, pus, smt, numa_nodes,
//                       caches: [{level, size_bytes, count}]}
//   kernel             {release, version, config_source}
//   preemption         {model, rt, dynamic, runtime_mode, boot_default,
//                       boot_default_source, source, detail}
//   timers             {hz, no_hz, high_res_timers, clocksource, timer_slack_ns}
//   scheduler          {rt_runtime_us, rt_period_us, rt_throttling}
//   cpufreq            {status, governors: {"<cpu>": governor}}
//   virtualization     {hypervisor_flag, hypervisor_type, dmi_vendor, dmi_product}
//   privileges         {euid, rt_priority_allowed, rt_priority_detail, rlimit_rtprio,
//                       rlimit_memlock, mlock_allowed, mlock_detail}
//   cycle_counter      string, pb::cycleclock::source()
//   cpu_dma_latency    {path, present}
//   collection_errors  [string], empty unless a section failed unexpectedly
inline constexpr std::array<std::string_view, 17> kMachineInfoJsonKeys = {
    "schema_version",   "collected_at", "tool",          "hostname",
    "architecture",     "cpu",          "topology",      "kernel",
    "preemption",       "timers",       "scheduler",     "cpufreq",
    "virtualization",   "privileges",   "cycle_counter", "cpu_dma_latency",
    "collection_errors"};

// --- value types ------------------------------------------------------------

struct CacheInfo {
  std::string level;        // "L1d", "L1i", "L1" (unified), "L2", "L3", ...
  uint64_t size_bytes = 0;  // of one instance
  unsigned count = 0;       // instances of this level with this size
};

struct TopologyInfo {
  bool available = false;
  std::string reason;  // why not, when !available
  unsigned packages = 0;
  unsigned cores = 0;
  unsigned pus = 0;  // hardware threads
  bool smt = false;  // some core has more than one PU
  unsigned numa_nodes = 0;
  // One entry per (level, instance size), ordered L1d, L1i, L1, L2, L3, ...
  // A hybrid CPU (different L2 per core type) yields two L2 entries.
  std::vector<CacheInfo> caches;
};

struct CpuInfo {
  std::string model;   // "model name", aarch64 implementer/part, or "unknown (...)"
  std::string online;  // cpu list as the kernel prints it, e.g. "0-3,8"
  std::optional<unsigned> online_count;  // CPUs in `online`; nullopt when unparsable
  std::string isolated;                  // cpu list, "none", or "unknown (...)"
  std::string nohz_full;                 // cpu list, "none", or "none (not configured)"
};

// How the kernel preempts, and how that was learned.
//
// `model` is one of "none", "voluntary", "full", "lazy", "rt", "unknown".
// "rt" wins whenever the kernel is PREEMPT_RT (sleeping spinlocks and threaded
// interrupts dominate latency whatever the full/lazy sub-mode); the sub-mode of
// a dynamic RT kernel is in `runtime_mode`. A PREEMPT_DYNAMIC kernel whose
// /sys/kernel/debug/sched/preempt cannot be read has model "unknown": root may
// have switched it since boot, so the boot default is reported separately and
// never presented as the current mode.
struct PreemptModelInfo {
  std::string model = "unknown";
  bool rt = false;       // PREEMPT_RT kernel
  bool dynamic = false;  // PREEMPT_DYNAMIC kernel
  // Dynamic kernels: the current mode from debugfs, or "unknown". Non-dynamic
  // kernels: "" (there is no runtime mode).
  std::string runtime_mode;
  // Dynamic kernels: the mode chosen at boot (preempt= on the command line,
  // else the Kconfig choice), or "unknown". Non-dynamic kernels: "".
  std::string boot_default;
  std::string boot_default_source;  // "kernel command line (preempt=)", "/proc/config.gz", ...
  // The sources the answer rests on, in precedence order, joined by " + ",
  // e.g. "/sys/kernel/realtime + /sys/kernel/debug/sched/preempt"; "none".
  std::string source = "none";
  std::string detail;  // one sentence for humans: what is known and what is not
};

struct KernelInfo {
  std::string release;        // uname -r
  std::string version;        // uname -v
  std::string config_source;  // "/proc/config.gz", "/boot/config-<release>", or "unavailable (...)"
};

struct TimerInfo {
  std::optional<int> hz;        // CONFIG_HZ; nullopt when no config says (JSON null)
  std::string no_hz;            // "NO_HZ_FULL", "NO_HZ_IDLE", "HZ_PERIODIC" or "unknown (...)"
  std::string high_res_timers;  // "yes", "no" or "unknown (...)"
  std::string clocksource;      // current clocksource or "unknown (...)"
  std::optional<int64_t> timer_slack_ns;  // this process, prctl(PR_GET_TIMERSLACK)
};

struct SchedulerInfo {
  std::optional<int64_t> rt_runtime_us;  // -1: RT throttling disabled
  std::optional<int64_t> rt_period_us;
  std::string rt_throttling;  // "950000/1000000 us (95%)", "disabled", "unknown (...)"
};

struct CpufreqInfo {
  std::string status;                    // "available", "unavailable (no cpufreq)", "unknown (...)"
  std::map<int, std::string> governors;  // cpu -> scaling_governor
};

struct VirtualizationInfo {
  // "present", "absent" (x86 flags line without it), or "unknown (...)" where
  // /proc/cpuinfo carries no x86 flags line (aarch64 has no such flag).
  std::string hypervisor_flag;
  std::string hypervisor_type;  // /sys/hypervisor/type, or "" when absent
  std::string dmi_vendor;       // /sys/class/dmi/id/sys_vendor, or "" when unreadable
  std::string dmi_product;      // /sys/class/dmi/id/product_name, or "" when unreadable
};

// A resource limit; nullopt members mean RLIM_INFINITY.
struct RlimitInfo {
  bool known = false;
  std::optional<uint64_t> soft;
  std::optional<uint64_t> hard;
};

struct PrivilegeInfo {
  unsigned euid = 0;
  std::optional<bool> rt_priority_allowed;  // SCHED_FIFO 1 probe; nullopt: probe failed
  std::string rt_priority_detail;
  RlimitInfo rlimit_rtprio;
  RlimitInfo rlimit_memlock;   // bytes
  bool mlock_allowed = false;  // mlock()+munlock() of one page succeeded
  std::string mlock_detail;
};

struct ToolInfo {
  std::string name = "preemptbench";
  std::string version;
  std::string git_commit;
};

struct MachineInfo {
  std::string collected_at;  // UTC ISO-8601
  ToolInfo tool;
  std::string hostname;
  std::string architecture;
  CpuInfo cpu;
  TopologyInfo topology;
  KernelInfo kernel;
  PreemptModelInfo preemption;
  TimerInfo timers;
  SchedulerInfo scheduler;
  CpufreqInfo cpufreq;
  VirtualizationInfo virtualization;
  PrivilegeInfo privileges;
  std::string cycle_counter;
  bool cpu_dma_latency_present = false;  // /dev/cpu_dma_latency exists
  std::vector<std::string> collection_errors;
};

// --- collection and rendering -----------------------------------------------

// Reads this machine. Never throws; takes a few milliseconds (one short-lived
// probe thread for SCHED_FIFO, one mlock of a page). Not for real-time paths.
MachineInfo collect_machine_info() noexcept;

nlohmann::json to_json(const MachineInfo& info);

// Rows of the human-readable table, in display order; shared by the text
// rendering and by reporters that want the same fingerprint in their format.
std::vector<std::pair<std::string, std::string>> to_rows(const MachineInfo& info);
// The rows as an aligned "key   value" table, one row per line.
std::string to_text(const MachineInfo& info);

// --- pure parsers (no I/O) --------------------------------------------------

// parse_cpu_list / format_cpu_list: see pb/cpu_list.h (included above).

// A kernel .config as a map from option name ("CONFIG_HZ") to value: "y",
// "m", the number, or the unquoted string. "# CONFIG_X is not set" maps to
// "n", so an absent key means the option does not exist in this kernel.
using KernelConfig = std::map<std::string, std::string>;
KernelConfig parse_kernel_config(std::string_view text);

// The current mode from /sys/kernel/debug/sched/preempt, the one word in
// parentheses: "none voluntary (full) lazy" -> "full". nullopt when the text
// has no single parenthesised known mode (none, voluntary, full, lazy).
std::optional<std::string> parse_debugfs_preempt(std::string_view text);

// "6.12.48+deb13-amd64" -> {6, 12}; nullopt when it does not start with N.N.
std::optional<std::pair<int, int>> parse_kernel_release(std::string_view release);

// The texts each preemption source yielded; nullopt where the source could
// not be read (absent file, no permission, not mounted).
struct PreemptSources {
  std::optional<std::string> debugfs_preempt;  // /sys/kernel/debug/sched/preempt
  std::string debugfs_error;                   // why it was not read, for `detail`
  std::optional<std::string> sys_realtime;     // /sys/kernel/realtime
  std::optional<KernelConfig> kernel_config;   // parsed config
  std::string kernel_config_origin;            // where it came from, for `source`
  std::optional<std::string> cmdline;          // /proc/cmdline (preempt=)
  std::optional<std::string> uname_version;    // uname -v
  std::optional<std::string> uname_release;    // uname -r
};

// Precedence, per question:
// - RT:      /sys/kernel/realtime "1", then CONFIG_PREEMPT_RT, then a
//            PREEMPT_RT token in uname -v.
// - dynamic: a parsable debugfs file, then CONFIG_PREEMPT_DYNAMIC, then a
//            PREEMPT_DYNAMIC token in uname -v.
// - mode:    debugfs, then (non-dynamic kernels) the Kconfig choice, then
//            uname -v: "PREEMPT" means full before 6.13 and full-or-lazy
//            after, no flag means none-or-voluntary (both reported unknown).
// uname -v carries one preempt token, PREEMPT_RT > PREEMPT_DYNAMIC > PREEMPT
// (init/Makefile), so an RT dynamic kernel shows only PREEMPT_RT there.
PreemptModelInfo detect_preempt_model(const PreemptSources& sources);

// CONFIG_HZ, the NO_HZ mode and CONFIG_HIGH_RES_TIMERS from a config: HZ is
// nullopt, the others "unknown (<why>)", when the config is absent or lacks
// the option.
std::optional<int> config_hz(const std::optional<KernelConfig>& config);
std::string config_no_hz(const std::optional<KernelConfig>& config);
std::string config_high_res_timers(const std::optional<KernelConfig>& config);

// CPU model from /proc/cpuinfo: the first "model name"; else aarch64's
// "CPU implementer"/"CPU part" ("Arm (0x41) part 0xd0c"); else "unknown (...)".
std::string parse_cpu_model(std::string_view cpuinfo);
// Whether the first x86 "flags" line carries `hypervisor`; nullopt when
// there is no flags line (non-x86: absence proves nothing).
std::optional<bool> cpuinfo_hypervisor_flag(std::string_view cpuinfo);

}  // namespace pb
