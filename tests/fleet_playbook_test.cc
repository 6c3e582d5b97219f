// The fleet playbook (scripts/fleet/site.yml) against localhost with a local
// connection: "installs" this build's binaries into a scratch prefix, runs the
// smoke suite (preemptbench sysinfo, pb-cyclictest -l 100 without RT
// priority), fetches the results, and `report` reads them. Skips (77) when
// ansible-playbook is not installed (scripts/setup installs ansible-core).
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "report_test_util.h"
#include "tool_runner.h"

namespace pb::report {
namespace {

bool have_ansible() { return std::system("command -v ansible-playbook >/dev/null 2>&1") == 0; }

TEST(FleetPlaybook, LocalhostSmokeSuiteFetchesResultsReportReads) {
  if (!have_ansible())
    GTEST_SKIP() << "ansible-playbook is not installed (scripts/setup installs ansible-core)";
  if (const char* emu = std::getenv("PB_EMULATOR"); emu != nullptr && *emu != '\0') {
    GTEST_SKIP() << "cross build: the playbook would install binaries this host cannot run";
  }
  const std::string dir = pb::testing::scratch_dir("fleet");
  const std::string log = dir + "/ansible.log";
  // ansible refuses a non-UTF-8 locale; the timeout keeps a wedged run from
  // outliving the test.
  std::string cmd = "cd " PB_SOURCE_DIR " && LC_ALL=C.UTF-8 ANSIBLE_NOCOLOR=1";
  cmd += " ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCAL_TEMP=" + dir + "/tmp";
  cmd += " ANSIBLE_REMOTE_TEMP=" + dir + "/rtmp";
  cmd += " timeout 100 ansible-playbook -i localhost, -c local scripts/fleet/site.yml";
  cmd += " -e pb_suite=smoke -e pb_install=prebuilt -e pb_build_dir=" PB_BUILD_DIR;
  cmd += " -e pb_prefix=" + dir + "/prefix -e pb_fetch_dir=" + dir + "/fetched";
  cmd += " -e pb_setup=false -e pb_become=false -e pb_run_id=test > " + log + " 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << pb::testing::read_all(log);

  const std::string fetched = dir + "/fetched/test/localhost";
  for (const char* f : {"sysinfo.json", "pb-cyclictest.json", "pb-cyclictest.log"}) {
    EXPECT_TRUE(std::filesystem::exists(fetched + "/" + f)) << f << "\n"
                                                            << pb::testing::read_all(log);
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/prefix/bin/preemptbench"));

  const auto r =
      pb::testing::run_tool("preemptbench", {"report", dir + "/fetched/test", "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = pb::testing::split_lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;  // header + the pb-cyclictest row
  EXPECT_NE(lines[1].find(",host,pb-cyclictest/nanosleep,,1,0,100,"), std::string::npos)
      << lines[1];
  EXPECT_NE(r.err.find("skipped " + fetched + "/sysinfo.json"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace pb::report
