// Runs the plot scripts (plot_run.py, plot_report.py) and collects the PNGs
// plot_report.py lists. Mechanism only: the drawing decisions are the
// scripts', the page layout the reporters'.
#include "pb/report/plots.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pb/report/readers.h"
#include "pb/subprocess.h"

namespace pb::report {

namespace {

constexpr int kNoMatplotlib = 3;  // the plot scripts' exit code when matplotlib is missing

// $PB_PYTHON, else Debian's /usr/bin/python3 (where scripts/setup installs
// python3-matplotlib; a pyenv or venv python3 on PATH usually lacks it),
// else python3 on PATH.
std::string python_interpreter() {
  if (const char* p = std::getenv("PB_PYTHON"); p != nullptr && *p != '\0') return p;
  if (access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return "python3";
}

}  // namespace

std::string run_plot_script(const std::string& script, const std::vector<std::string>& args) {
  if (access(script.c_str(), R_OK) != 0) return script + " not found";
  const std::string python = python_interpreter();
  std::vector<std::string> argv{python, script};
  argv.insert(argv.end(), args.begin(), args.end());
  // The plotter's stdout goes to stderr: stdout carries only the results.
  const ChildResult child = run_child(argv, {.out = ChildOutput::kToStderr});
  if (child.spawn_error != 0) {
    return fmt::format("cannot run {} ({}); install python3", python,
                       std::strerror(child.spawn_error));
  }
  switch (child.exit_code()) {
    case 0:
      return "";
    case kNoMatplotlib:
      return fmt::format(
          "matplotlib is not installed for {} (Debian: apt install python3-matplotlib, or "
          "scripts/setup)",
          python);
    case 127:
      return python + " not found; install python3";
    default:
      return fmt::format("{} {} failed (status {})", python, script, child.exit_code());
  }
}

std::vector<Plot> draw_plots(const std::string& script, const std::string& data_json,
                             const std::string& out_dir, std::string* note) {
  const auto skip = [&](const std::string& why) {
    if (note != nullptr) *note = "plots skipped: " + why;
    return std::vector<Plot>{};
  };
  if (const std::string why = run_plot_script(script, {data_json, out_dir}); !why.empty()) {
    return skip(why);
  }
  // plots.json: [{"file": "cdf.png", "title": "..."}], files inside out_dir.
  std::string text, why;
  if (!read_text_file(out_dir + "/plots.json", &text, &why)) return skip(why);
  std::vector<Plot> plots;
  try {
    const auto list = nlohmann::json::parse(text);
    for (const auto& e : list) {
      Plot p;
      p.file = e.at("file").get<std::string>();
      p.title = e.at("title").get<std::string>();
      if (p.file.empty() || p.file.find('/') != std::string::npos || p.file[0] == '.') continue;
      if (!read_text_file(out_dir + "/" + p.file, &p.png, &why)) return skip(why);
      plots.push_back(std::move(p));
    }
  } catch (const std::exception& e) {
    return skip(std::string("plots.json unreadable: ") + e.what());
  }
  if (plots.empty()) return skip("nothing to plot");
  return plots;
}

}  // namespace pb::report
