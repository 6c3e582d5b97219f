// The measuring and publishing scripts reject a bad LABEL (it becomes a
// directory under results/) with a usage line and exit code 2, before they
// build, measure or write anything.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "emulator_guard.h"
#include "tool_runner.h"

namespace {

struct ScriptRun {
  int exit_code = -1;
  std::string err;
};

ScriptRun run_script(const std::string& script, const std::string& arg) {
  const std::string err = pb::testing::temp_path("script.err");
  const std::string cmd = "'" + std::string(PB_SOURCE_DIR) + "/scripts/" + script + "' '" + arg +
                          "' >/dev/null 2>'" + err + "' </dev/null";
  const int status = std::system(cmd.c_str());
  ScriptRun r;
  if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  r.err = pb::testing::slurp(err);
  std::filesystem::remove(err);
  return r;
}

TEST(Scripts, BadLabelIsUsageErrorBeforeAnyWork) {
  PB_SKIP_UNDER_EMULATOR();
  if (std::system("command -v bash >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "bash is not installed (the scripts are bash)";
  for (const char* script : {"bench-foundation", "bench-scenarios", "bench-gate", "publish"}) {
    for (const char* label : {"a/b", "../x", "has space", "semi;colon"}) {
      const ScriptRun r = run_script(script, label);
      EXPECT_EQ(r.exit_code, 2) << script << " " << label << ": " << r.err;
      EXPECT_NE(r.err.find("usage: scripts/" + std::string(script)), std::string::npos)
          << script << " " << label << ": " << r.err;
      EXPECT_FALSE(std::filesystem::exists(std::string(PB_SOURCE_DIR) + "/results/" + label))
          << script << " " << label;
    }
  }
}

}  // namespace
