// Draws a report's plots by running plot_report.py (matplotlib) on the
// report's data file. Plots are a convenience: any failure becomes a note,
// never an error.
#pragma once

#include <string>
#include <vector>

#include "pb/report/reporter.h"

namespace pb::report {

// Runs `PYTHON SCRIPT DATA_JSON OUT_DIR`, where PYTHON is $PB_PYTHON, else
// /usr/bin/python3 (Debian's, where python3-matplotlib is), else python3 on
// PATH. Reads back the PNGs the script lists in OUT_DIR/plots.json. On
// failure returns an empty list and sets *note ("matplotlib is not
// installed ...").
std::vector<Plot> draw_plots(const std::string& script, const std::string& data_json,
                             const std::string& out_dir, std::string* note);

}  // namespace pb::report
