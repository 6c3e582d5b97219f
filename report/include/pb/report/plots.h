// Draws plots by running a plot script (matplotlib): plot_run.py on a
// run.json, plot_report.py on a report's data file. Plots are a
// convenience: any failure becomes a note, never an error.
#pragma once

#include <string>
#include <vector>

#include "pb/report/table.h"

namespace pb::report {

// Runs `PYTHON SCRIPT ARGS...` with the script's stdout on our stderr, where
// PYTHON is $PB_PYTHON, else /usr/bin/python3 (Debian's, where
// python3-matplotlib is), else python3 on PATH. "" when it succeeded, else
// why there are no plots ("matplotlib is not installed for ...").
std::string run_plot_script(const std::string& script, const std::vector<std::string>& args);

// Runs `PYTHON SCRIPT DATA_JSON OUT_DIR` (run_plot_script()) and reads back
// the PNGs the script lists in OUT_DIR/plots.json. On failure returns an
// empty list and sets *note ("plots skipped: ...").
std::vector<Plot> draw_plots(const std::string& script, const std::string& data_json,
                             const std::string& out_dir, std::string* note);

}  // namespace pb::report
