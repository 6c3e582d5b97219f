// The built-in descriptions: each parses, round-trips, matches its file in
// workloads/builtin/, has a measuring task, and accepts --set of every
// parameter it declares; the default suite names built-ins only.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "pb/workloads/workload.h"

namespace {

using pb::wl::Workload;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(WorkloadBuiltin, RequiredOnesExist) {
  const auto names = pb::wl::builtin_names();
  for (const char* n : {"kernel-path", "spinlock-path", "long-kernel-path", "spinlock-heavy",
                        "irq-storm", "fair-lazy", "lock-inversion", "messaging", "io-uring"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
}

TEST(WorkloadBuiltin, EveryOneParsesAndRoundTrips) {
  for (const std::string& name : pb::wl::builtin_names()) {
    SCOPED_TRACE(name);
    const Workload w = pb::wl::load_workload(name, {});
    EXPECT_EQ(w.name, name);
    EXPECT_FALSE(w.description.empty());
    const std::string text = pb::wl::to_json_text(w);
    const Workload back = pb::wl::parse_workload(text, "round-trip", {});
    EXPECT_EQ(back, w);
    EXPECT_EQ(pb::wl::to_json_text(back), text);
    // A measuring task, periodic.
    bool measured = false;
    for (const auto& t : w.tasks)
      measured = measured || (t.measure && t.period_us > 0 && t.count > 0);
    EXPECT_TRUE(measured);
  }
}

TEST(WorkloadBuiltin, EmbeddedTextIsTheFile) {
  const std::filesystem::path dir = std::filesystem::path(PB_SOURCE_DIR) / "workloads" / "builtin";
  std::set<std::string> on_disk;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".json") on_disk.insert(e.path().stem().string());
  }
  const auto names = pb::wl::builtin_names();
  EXPECT_EQ(on_disk, std::set<std::string>(names.begin(), names.end()))
      << "every workloads/builtin/*.json must be listed in PB_BUILTIN_WORKLOADS";
  for (const std::string& name : names) {
    EXPECT_EQ(pb::wl::builtin_text(name), read_file(dir / (name + ".json"))) << name;
  }
}

TEST(WorkloadBuiltin, EveryParameterCanBeSet) {
  for (const std::string& name : pb::wl::builtin_names()) {
    const Workload w = pb::wl::load_workload(name, {});
    for (const auto& p : w.params) {
      SCOPED_TRACE(name + " " + p.name);
      std::string value = p.json;
      if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
      EXPECT_EQ(pb::wl::load_workload(name, {p.name + "=" + value}), w);
    }
  }
  // Setting one changes what it references.
  const Workload w = pb::wl::load_workload("kernel-path", {"section_us=250", "cond_resched_us=50"});
  EXPECT_EQ(w.tasks[1].path[0].us, 250);
  EXPECT_EQ(w.tasks[1].path[0].cond_resched_us, 50);
  const Workload inv = pb::wl::load_workload("lock-inversion", {"lock_type=rt_mutex"});
  EXPECT_EQ(inv.locks[0].kind, pb::exec::LockType::kRtMutex);
}

TEST(WorkloadBuiltin, DefaultSuiteIsBuiltins) {
  const auto names = pb::wl::builtin_names();
  const auto suite = pb::wl::default_suite();
  EXPECT_FALSE(suite.empty());
  for (const auto& s : suite) EXPECT_NE(std::find(names.begin(), names.end(), s), names.end()) << s;
  EXPECT_EQ(suite.front(), "kernel-path");
}

}  // namespace
