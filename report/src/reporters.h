// The reporters behind make_reporter() (reporter.cc), one file per format,
// each holding that format for both documents. Internal to pb_report.
#pragma once

#include <memory>

#include "pb/report/reporter.h"

namespace pb::report::detail {

std::unique_ptr<Reporter<RunDocument>> make_run_table_reporter();     // table_reporter.cc
std::unique_ptr<Reporter<RunDocument>> make_run_tasks_reporter();     // tasks_reporter.cc
std::unique_ptr<Reporter<RunDocument>> make_run_json_reporter();      // json_reporter.cc
std::unique_ptr<Reporter<Report>> make_report_json_reporter();        // json_reporter.cc
std::unique_ptr<Reporter<RunDocument>> make_run_csv_reporter();       // csv_reporter.cc
std::unique_ptr<Reporter<Report>> make_report_csv_reporter();         // csv_reporter.cc
std::unique_ptr<Reporter<RunDocument>> make_run_markdown_reporter();  // markdown_reporter.cc
std::unique_ptr<Reporter<Report>> make_report_markdown_reporter();    // markdown_reporter.cc
std::unique_ptr<Reporter<Report>> make_report_html_reporter();        // html_reporter.cc

}  // namespace pb::report::detail
