// The machine fingerprint: every parser fed fixed texts, the preemption-model
// precedence source by source, and the JSON key contract on this machine.
#include "pb/sysinfo.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "pb/utc.h"

namespace {

using pb::PreemptSources;

constexpr char kDebugfs[] = "/sys/kernel/debug/sched/preempt";

pb::KernelConfig config_of(const char* text) { return pb::parse_kernel_config(text); }

PreemptSources with_config(const char* text, const char* origin = "/proc/config.gz") {
  PreemptSources s;
  s.kernel_config = config_of(text);
  s.kernel_config_origin = origin;
  return s;
}

// --- cpu lists -----------------------------------------------------------------

TEST(SysInfoCpuList, RangesAndSinglesExpandSorted) {
  const auto cpus = pb::parse_cpu_list("0-3,8,10-11");
  ASSERT_TRUE(cpus);
  EXPECT_EQ(*cpus, (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
}

TEST(SysInfoCpuList, EmptyAndNewlineOnlyAreTheEmptyList) {
  ASSERT_TRUE(pb::parse_cpu_list(""));
  EXPECT_TRUE(pb::parse_cpu_list("")->empty());
  ASSERT_TRUE(pb::parse_cpu_list("\n"));
  EXPECT_TRUE(pb::parse_cpu_list("\n")->empty());
}

TEST(SysInfoCpuList, TrailingNewlineAndOverlapsAreAccepted) {
  EXPECT_EQ(*pb::parse_cpu_list("0-1\n"), (std::vector<int>{0, 1}));
  EXPECT_EQ(*pb::parse_cpu_list("3,1-3,1"), (std::vector<int>{1, 2, 3}));
}

TEST(SysInfoCpuList, MalformedIsAnErrorWithAReason) {
  for (const char* bad :
       {"a", "1-", "-1", "3-1", "1,,2", ",1", "1,", "1-2-3", "0x1", "1 2", "99999999999"}) {
    std::string error;
    EXPECT_FALSE(pb::parse_cpu_list(bad, &error)) << bad;
    EXPECT_NE(error.find("malformed cpu list"), std::string::npos) << bad;
  }
}

TEST(SysInfoCpuList, FormatIsTheInverse) {
  EXPECT_EQ(pb::format_cpu_list({0, 1, 2, 3, 8, 10, 11}), "0-3,8,10-11");
  EXPECT_EQ(pb::format_cpu_list({}), "");
  EXPECT_EQ(pb::format_cpu_list({5}), "5");
}

// --- kernel config ----------------------------------------------------------------

TEST(SysInfoKernelConfig, ValuesNotSetAndStrings) {
  const auto c = config_of(
      "#\n# Automatically generated file; DO NOT EDIT.\n#\n"
      "CONFIG_HZ_250=y\nCONFIG_HZ=250\n# CONFIG_PREEMPT is not set\n"
      "CONFIG_LOCALVERSION=\"-fc \\\"x\\\"\"\nCONFIG_MODULE=m\n\n# comment line\n");
  EXPECT_EQ(c.at("CONFIG_HZ_250"), "y");
  EXPECT_EQ(c.at("CONFIG_HZ"), "250");
  EXPECT_EQ(c.at("CONFIG_PREEMPT"), "n");
  EXPECT_EQ(c.at("CONFIG_LOCALVERSION"), "-fc \"x\"");
  EXPECT_EQ(c.at("CONFIG_MODULE"), "m");
  EXPECT_EQ(c.size(), 5u);
}

TEST(SysInfoKernelConfig, TimerOptions) {
  const auto c = std::optional<pb::KernelConfig>(
      config_of("CONFIG_HZ=250\nCONFIG_NO_HZ_IDLE=y\n# CONFIG_NO_HZ_FULL is not set\n"
                "CONFIG_HIGH_RES_TIMERS=y\n"));
  EXPECT_EQ(pb::config_hz(c), 250);
  EXPECT_EQ(pb::config_no_hz(c), "NO_HZ_IDLE");
  EXPECT_EQ(pb::config_high_res_timers(c), "yes");

  const auto full = std::optional<pb::KernelConfig>(
      config_of("CONFIG_NO_HZ_FULL=y\n# CONFIG_HIGH_RES_TIMERS is not set\n"));
  EXPECT_EQ(pb::config_no_hz(full), "NO_HZ_FULL");
  EXPECT_EQ(pb::config_high_res_timers(full), "no");
  EXPECT_FALSE(pb::config_hz(full));

  EXPECT_FALSE(pb::config_hz(std::nullopt));
  EXPECT_EQ(pb::config_no_hz(std::nullopt).rfind("unknown", 0), 0u);
  EXPECT_EQ(pb::config_high_res_timers(std::nullopt).rfind("unknown", 0), 0u);
}

// --- debugfs and release ----------------------------------------------------------

TEST(SysInfoDebugfs, CurrentModeIsTheParenthesisedOne) {
  EXPECT_EQ(pb::parse_debugfs_preempt("none voluntary (full) lazy\n"), "full");
  EXPECT_EQ(pb::parse_debugfs_preempt("(none) voluntary full\n"), "none");
  EXPECT_EQ(pb::parse_debugfs_preempt("none voluntary full (lazy)"), "lazy");
}

TEST(SysInfoDebugfs, NoOrAmbiguousOrUnknownCurrentIsNullopt) {
  EXPECT_FALSE(pb::parse_debugfs_preempt(""));
  EXPECT_FALSE(pb::parse_debugfs_preempt("none voluntary full lazy"));
  EXPECT_FALSE(pb::parse_debugfs_preempt("(none) (full)"));
  EXPECT_FALSE(pb::parse_debugfs_preempt("none (bogus)"));
}

TEST(SysInfoRelease, MajorMinor) {
  EXPECT_EQ(pb::parse_kernel_release("6.12.48+deb13-amd64"), (std::pair<int, int>{6, 12}));
  EXPECT_EQ(pb::parse_kernel_release("6.18.44-fc-v669"), (std::pair<int, int>{6, 18}));
  EXPECT_EQ(pb::parse_kernel_release("5.4"), (std::pair<int, int>{5, 4}));
  EXPECT_FALSE(pb::parse_kernel_release("linux"));
  EXPECT_FALSE(pb::parse_kernel_release(""));
}

// --- preemption model: each source alone --------------------------------------

TEST(SysInfoPreempt, DebugfsAlone) {
  PreemptSources s;
  s.debugfs_preempt = "none voluntary (full) lazy\n";
  const auto p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.model, "full");
  EXPECT_TRUE(p.dynamic);
  EXPECT_FALSE(p.rt);
  EXPECT_EQ(p.runtime_mode, "full");
  EXPECT_EQ(p.boot_default, "unknown");
  EXPECT_EQ(p.source, kDebugfs);
}

TEST(SysInfoPreempt, RealtimeAloneMeansRt) {
  PreemptSources s;
  s.sys_realtime = "1\n";
  const auto p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.model, "rt");
  EXPECT_TRUE(p.rt);
  EXPECT_FALSE(p.dynamic);
  EXPECT_EQ(p.source, "/sys/kernel/realtime");
}

TEST(SysInfoPreempt, RealtimeOtherThanOneIsIgnored) {
  PreemptSources s;
  s.sys_realtime = "0\n";
  const auto p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.model, "unknown");
  EXPECT_EQ(p.source, "none");
}

TEST(SysInfoPreempt, StaticConfigAlone) {
  for (const auto& [text, model] : std::vector<std::pair<const char*, const char*>>{
           {"CONFIG_PREEMPT_NONE=y\n", "none"},
           {"CONFIG_PREEMPT_VOLUNTARY=y\n# CONFIG_PREEMPT_DYNAMIC is not set\n", "voluntary"},
           {"CONFIG_PREEMPT=y\n", "full"},
           {"CONFIG_PREEMPT_LAZY=y\nCONFIG_PREEMPT_BUILD=y\n", "lazy"}}) {
    const auto p = pb::detect_preempt_model(with_config(text, "/boot/config-6.12.0"));
    EXPECT_EQ(p.model, model) << text;
    EXPECT_FALSE(p.dynamic);
    EXPECT_FALSE(p.rt);
    EXPECT_EQ(p.runtime_mode, "");
    EXPECT_EQ(p.boot_default, "");
    EXPECT_EQ(p.source, "/boot/config-6.12.0");
    EXPECT_NE(p.detail.find(std::string("static model '") + model), std::string::npos) << p.detail;
  }
}

TEST(SysInfoPreempt, ConfigRtAlone) {
  // 6.12: PREEMPT_RT is a member of the choice; 6.13+: a separate bool with LAZY.
  auto p = pb::detect_preempt_model(with_config("CONFIG_PREEMPT_RT=y\nCONFIG_PREEMPTION=y\n"));
  EXPECT_EQ(p.model, "rt");
  EXPECT_TRUE(p.rt);
  p = pb::detect_preempt_model(with_config("CONFIG_PREEMPT_RT=y\nCONFIG_PREEMPT_LAZY=y\n"));
  EXPECT_EQ(p.model, "rt");
  EXPECT_NE(p.detail.find("'lazy'"), std::string::npos) << p.detail;
}

TEST(SysInfoPreempt, ConfigNoneWithDynamicReportsBootDefaultAndUnknownRuntime) {
  // This machine's kind of kernel: Debian-style PREEMPT_DYNAMIC built with NONE.
  auto s = with_config(
      "CONFIG_PREEMPT_BUILD=y\nCONFIG_PREEMPT_NONE=y\n# CONFIG_PREEMPT_VOLUNTARY is not set\n"
      "# CONFIG_PREEMPT is not set\n# CONFIG_PREEMPT_LAZY is not set\nCONFIG_PREEMPTION=y\n"
      "CONFIG_PREEMPT_DYNAMIC=y\nCONFIG_ARCH_HAS_PREEMPT_LAZY=y\n");
  s.debugfs_error = "No such file or directory";
  const auto p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.model, "unknown");
  EXPECT_TRUE(p.dynamic);
  EXPECT_FALSE(p.rt);
  EXPECT_EQ(p.runtime_mode, "unknown");
  EXPECT_EQ(p.boot_default, "none");
  EXPECT_EQ(p.boot_default_source, "/proc/config.gz");
  EXPECT_EQ(p.source, "/proc/config.gz");
  EXPECT_NE(p.detail.find("boot default 'none'"), std::string::npos) << p.detail;
  EXPECT_NE(p.detail.find("runtime mode unknown"), std::string::npos) << p.detail;
  EXPECT_NE(p.detail.find("No such file or directory"), std::string::npos) << p.detail;
}

TEST(SysInfoPreempt, UnameOnlyFallback) {
  PreemptSources s;
  s.uname_version = "#1 SMP PREEMPT Debian 6.1.123-1 (2025-01-02)";
  s.uname_release = "6.1.0-29-amd64";
  auto p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.model, "full");  // no lazy before 6.13
  EXPECT_EQ(p.source, "uname -v");

  s.uname_release = "6.14.0";
  p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.model, "unknown");  // full or lazy
  EXPECT_NE(p.detail.find("lazy"), std::string::npos) << p.detail;

  s.uname_version = "#1 SMP PREEMPT_DYNAMIC @0";
  p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.model, "unknown");
  EXPECT_TRUE(p.dynamic);
  EXPECT_EQ(p.runtime_mode, "unknown");
  EXPECT_EQ(p.boot_default, "unknown");
  EXPECT_EQ(p.source, "uname -v");

  s.uname_version = "#1 SMP PREEMPT_RT Thu Jan 1";
  p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.model, "rt");
  EXPECT_TRUE(p.rt);
  EXPECT_NE(p.detail.find("PREEMPT_DYNAMIC is unknown"), std::string::npos) << p.detail;

  s.uname_version = "#1 SMP Debian 5.10.0";
  s.uname_release = "5.10.0";
  p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.model, "unknown");  // none or voluntary
  EXPECT_FALSE(p.dynamic);
  EXPECT_NE(p.detail.find("none or voluntary"), std::string::npos) << p.detail;
}

TEST(SysInfoPreempt, EverythingAbsentIsUnknown) {
  const auto p = pb::detect_preempt_model(PreemptSources{});
  EXPECT_EQ(p.model, "unknown");
  EXPECT_FALSE(p.rt);
  EXPECT_FALSE(p.dynamic);
  EXPECT_EQ(p.source, "none");
  EXPECT_NE(p.detail.find("no source"), std::string::npos) << p.detail;
}

// --- preemption model: precedence ---------------------------------------------

TEST(SysInfoPreempt, DebugfsBeatsConfigAndUname) {
  auto s = with_config("CONFIG_PREEMPT_NONE=y\nCONFIG_PREEMPT_DYNAMIC=y\n");
  s.debugfs_preempt = "none (voluntary) full lazy\n";
  s.uname_version = "#1 SMP PREEMPT_DYNAMIC";
  const auto p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.model, "voluntary");
  EXPECT_EQ(p.runtime_mode, "voluntary");
  EXPECT_EQ(p.boot_default, "none");  // switched at runtime since boot
  EXPECT_EQ(p.source, std::string(kDebugfs) + " + /proc/config.gz");
}

TEST(SysInfoPreempt, DebugfsGivesTheSubModeOfAnRtKernel) {
  // 6.13+: PREEMPT_RT combines with PREEMPT_DYNAMIC; "rt" stays the model.
  PreemptSources s;
  s.debugfs_preempt = "(full) lazy\n";
  s.sys_realtime = "1\n";
  const auto p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.model, "rt");
  EXPECT_TRUE(p.rt);
  EXPECT_TRUE(p.dynamic);
  EXPECT_EQ(p.runtime_mode, "full");
  EXPECT_EQ(p.source, std::string(kDebugfs) + " + /sys/kernel/realtime");
}

TEST(SysInfoPreempt, RealtimeBeatsConfig) {
  auto s = with_config("CONFIG_PREEMPT_VOLUNTARY=y\n");
  s.sys_realtime = "1";
  const auto p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.model, "rt");
  EXPECT_NE(p.detail.find("from /sys/kernel/realtime"), std::string::npos) << p.detail;
}

TEST(SysInfoPreempt, ConfigBeatsUname) {
  auto s = with_config("CONFIG_PREEMPT_VOLUNTARY=y\n");
  s.uname_version = "#1 SMP PREEMPT";
  s.uname_release = "6.1.0";
  const auto p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.model, "voluntary");
  EXPECT_EQ(p.source, "/proc/config.gz");
}

TEST(SysInfoPreempt, UnparsableDebugfsFallsBackToConfig) {
  auto s = with_config("CONFIG_PREEMPT_NONE=y\nCONFIG_PREEMPT_DYNAMIC=y\n");
  s.debugfs_preempt = "garbage";
  const auto p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.model, "unknown");
  EXPECT_EQ(p.runtime_mode, "unknown");
  EXPECT_NE(p.detail.find("unparsable"), std::string::npos) << p.detail;
}

TEST(SysInfoPreempt, CommandLineOverridesTheKconfigBootDefault) {
  auto s = with_config(
      "CONFIG_PREEMPT_NONE=y\nCONFIG_PREEMPT_DYNAMIC=y\nCONFIG_ARCH_HAS_PREEMPT_LAZY=y\n");
  s.cmdline = "BOOT_IMAGE=/vmlinuz root=/dev/vda1 preempt=full quiet\n";
  auto p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.boot_default, "full");
  EXPECT_EQ(p.boot_default_source, "kernel command line (preempt=)");
  EXPECT_EQ(p.model, "unknown");  // still no runtime reading
  EXPECT_EQ(p.source, "/proc/config.gz + /proc/cmdline");

  // The last valid value wins; invalid ones are ignored as the kernel does.
  s.cmdline = "preempt=lazy preempt=bogus";
  EXPECT_EQ(pb::detect_preempt_model(s).boot_default, "lazy");

  // lazy needs ARCH_HAS_PREEMPT_LAZY.
  auto no_lazy = with_config("CONFIG_PREEMPT_VOLUNTARY=y\nCONFIG_PREEMPT_DYNAMIC=y\n");
  no_lazy.cmdline = "preempt=lazy";
  p = pb::detect_preempt_model(no_lazy);
  EXPECT_EQ(p.boot_default, "voluntary");
  EXPECT_EQ(p.boot_default_source, "/proc/config.gz");

  // RT rejects none and voluntary.
  auto rt = with_config("CONFIG_PREEMPT_RT=y\nCONFIG_PREEMPT=y\nCONFIG_PREEMPT_DYNAMIC=y\n");
  rt.cmdline = "preempt=none";
  p = pb::detect_preempt_model(rt);
  EXPECT_EQ(p.model, "rt");
  EXPECT_EQ(p.boot_default, "full");
}

TEST(SysInfoPreempt, StaticKernelIgnoresPreemptParameter) {
  auto s = with_config("CONFIG_PREEMPT_VOLUNTARY=y\n");
  s.cmdline = "preempt=full";
  const auto p = pb::detect_preempt_model(s);
  EXPECT_EQ(p.model, "voluntary");
  EXPECT_EQ(p.boot_default, "");
  EXPECT_EQ(p.source, "/proc/config.gz");
}

// --- /proc/cpuinfo and time ----------------------------------------------------

TEST(SysInfoCpuinfo, X86ModelNameAndHypervisorFlag) {
  const char* text =
      "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\n"
      "flags\t\t: fpu vme hypervisor lahf_lm\n\nprocessor\t: 1\n"
      "model name\t: Other\nflags\t\t: fpu\n";
  EXPECT_EQ(pb::parse_cpu_model(text), "Intel(R) Xeon(R) Processor");
  EXPECT_EQ(pb::cpuinfo_hypervisor_flag(text), true);
  EXPECT_EQ(pb::cpuinfo_hypervisor_flag("flags\t: fpu vme hypervisorx\n"), false);
}

TEST(SysInfoCpuinfo, Aarch64FallsBackToImplementerAndPart) {
  const char* text =
      "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n"
      "CPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n";
  EXPECT_EQ(pb::parse_cpu_model(text), "Arm (0x41) part 0xd0c");
  EXPECT_EQ(pb::cpuinfo_hypervisor_flag(text), std::nullopt);  // absence proves nothing
  EXPECT_EQ(pb::parse_cpu_model("CPU implementer\t: 0x99\nCPU part\t: 0x001\n"), "0x99 part 0x001");
}

TEST(SysInfoCpuinfo, NothingKnownIsUnknown) {
  EXPECT_EQ(pb::parse_cpu_model("").rfind("unknown (", 0), 0u);
}

TEST(SysInfoTime, Iso8601Utc) {
  EXPECT_EQ(pb::iso8601_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(pb::iso8601_utc(1'700'000'000), "2023-11-14T22:13:20Z");
}

// --- this machine --------------------------------------------------------------

std::set<std::string> contract_keys() {
  return {pb::kMachineInfoJsonKeys.begin(), pb::kMachineInfoJsonKeys.end()};
}

TEST(SysInfoCollect, ThisMachineHasHostnameKernelAndEveryDocumentedKey) {
  const pb::MachineInfo info = pb::collect_machine_info();
  EXPECT_FALSE(info.hostname.empty());
  EXPECT_FALSE(info.kernel.release.empty());
  EXPECT_FALSE(info.kernel.version.empty());
  EXPECT_FALSE(info.architecture.empty());
  EXPECT_TRUE(info.collection_errors.empty());
  EXPECT_EQ(info.collected_at.size(), 20u) << info.collected_at;

  const nlohmann::json j = pb::to_json(info);
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  EXPECT_EQ(keys, contract_keys());
  EXPECT_EQ(j["schema_version"], pb::kMachineInfoSchemaVersion);
  for (const char* k : {"model", "rt", "dynamic", "runtime_mode", "boot_default",
                        "boot_default_source", "source", "detail"}) {
    EXPECT_TRUE(j["preemption"].contains(k)) << k;
  }
  EXPECT_NO_THROW((void)j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));

  const std::string text = pb::to_text(info);
  EXPECT_NE(text.find("preempt model"), std::string::npos);
  EXPECT_NE(text.find(info.hostname), std::string::npos);
}

TEST(SysInfoCollect, TextRowsAreAligned) {
  const auto rows = pb::to_rows(pb::collect_machine_info());
  ASSERT_FALSE(rows.empty());
  size_t width = 0;
  for (const auto& [k, v] : rows) width = std::max(width, k.size());
  const std::string text = pb::to_text(pb::collect_machine_info());
  // Every line has its value starting in the same column.
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const std::string line = text.substr(pos, nl - pos);
    ASSERT_GT(line.size(), width + 2) << line;
    EXPECT_EQ(line.substr(width, 2), "  ") << line;
    EXPECT_NE(line[width + 2], ' ') << line;
    pos = nl + 1;
  }
}

// --- the command ----------------------------------------------------------------

int run(const std::string& args, std::string* out) {
  const char* emu = std::getenv("PB_EMULATOR");
  const std::string cmd = std::string(emu ? emu : "") + " " PB_BUILD_DIR "/preemptbench " + args;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(SysInfoCommand, JsonCarriesTheContractAndBadOptionsExitTwo) {
  if (::access(PB_BUILD_DIR "/preemptbench", X_OK) != 0) {
    GTEST_SKIP() << "preemptbench not built in " PB_BUILD_DIR;
  }
  std::string out;
  ASSERT_EQ(run("sysinfo --json", &out), 0);
  const auto j = nlohmann::json::parse(out);
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  EXPECT_EQ(keys, contract_keys());

  out.clear();
  EXPECT_EQ(run("sysinfo --no-such-option 2>/dev/null", &out), 2);
  out.clear();
  EXPECT_EQ(run("sysinfo stray 2>/dev/null", &out), 2);
  out.clear();
  EXPECT_EQ(run("sysinfo --help", &out), 0);
  EXPECT_NE(out.find("--json"), std::string::npos);
}

}  // namespace
