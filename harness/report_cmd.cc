// `preemptbench report FILE|DIR... [--out DIR] [--format md,html,csv]
// [--reference SEL]`: merges result files of both tools and of rt-tests'
// cyclictest into one table (pb::report), with plots and the change against a
// reference. A thin layer: parse, read, build, write.
//
// Exit codes: 0 written; 1 an output could not be written; 2 bad input (an
// unreadable or malformed result file, a bad option) with one message.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "commands.h"
#include "pb/atomic_file.h"
#include "pb/report/plots.h"
#include "pb/report/readers.h"
#include "pb/report/reporter.h"
#include "pb/report/table.h"
#include "pb/subprocess.h"

namespace pb::cli {

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(',', start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) break;
    start = at + 1;
  }
  return out;
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "preemptbench report: %s\n", message.c_str());
  return kExitUsage;
}

}  // namespace

int report_main(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  po::options_description desc(
      "usage: preemptbench report FILE|DIR... [--out DIR] [--format md,html,csv] [--reference "
      "SEL]\n                           [--relabel FROM=TO ...] [--no-plots]\n\n"
      "Merges result files — preemptbench run (run.json), pb-cyclictest --json, rt-tests'\n"
      "cyclictest --json and cyclictest -h histogram text — from any number of machines\n"
      "and runs into one table: a row per machine label, kernel, host preemption model,\n"
      "emulated model, workload and load, with p50, p99, p99.9, max, missed periods and\n"
      "throughput over its rounds. Directories are searched recursively.\n\n"
      "Without --out the report is printed (one format, Markdown by default). With\n"
      "--out DIR, report.md, report.html (self-contained, plots embedded), report.csv,\n"
      "report.json and the plots (PNG, matplotlib) are written there.\n\noptions");
  desc.add_options()                                                   //
      ("out", po::value<std::string>(), "output directory (created)")  //
      ("format", po::value<std::string>(),
       "formats, comma-separated: md, html, csv "
       "(default: all three with --out, md without)")  //
      ("reference", po::value<std::string>(),
       "reference rows for the change columns: a machine LABEL, or FIELD=VALUE with FIELD "
       "one of label, kernel, host_model, model, workload, load (e.g. model=none)")  //
      ("relabel", po::value<std::vector<std::string>>(),
       "FROM=TO: show machine label FROM as TO (repeatable; e.g. a host name that rt-tests' "
       "cyclictest recorded, as the label given to preemptbench run)")  //
      ("no-plots", "do not draw plots")                                 //
      ("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()("input", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("input", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << desc << '\n';
    return kExitOk;
  }
  if (!vm.count("input")) return usage_error("no FILE or DIR given (see --help)");
  const auto inputs = vm["input"].as<std::vector<std::string>>();
  const bool to_dir = vm.count("out") > 0;

  std::vector<report::Format> formats;
  const std::string format_text =
      vm.count("format") ? vm["format"].as<std::string>() : (to_dir ? "md,html,csv" : "md");
  for (const std::string& name : split_list(format_text)) {
    const auto f = report::parse_report_format(name);
    if (!f)
      return usage_error(fmt::format("--format: unknown format \"{}\" (md, html, csv)", name));
    if (std::find(formats.begin(), formats.end(), *f) == formats.end()) formats.push_back(*f);
  }
  if (!to_dir && formats.size() > 1) return usage_error("several formats need --out DIR");

  std::optional<report::ReferenceSelector> reference;
  if (vm.count("reference")) {
    report::ReferenceSelector sel;
    std::string error;
    if (!report::parse_reference(vm["reference"].as<std::string>(), &sel, &error))
      return usage_error(error);
    reference = sel;
  }

  std::string out_dir;
  if (to_dir) {
    out_dir = vm["out"].as<std::string>();
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    std::string error;
    if (ec) return usage_error(fmt::format("--out {}: {}", out_dir, ec.message()));
    if (check_writable(out_dir + "/report.json", &error) < 0) return usage_error("--out: " + error);
  }

  std::vector<std::pair<std::string, std::string>> relabel;
  if (vm.count("relabel")) {
    for (const std::string& r : vm["relabel"].as<std::vector<std::string>>()) {
      const size_t eq = r.find('=');
      if (eq == 0 || eq == std::string::npos || eq + 1 == r.size())
        return usage_error(fmt::format("--relabel \"{}\": expected FROM=TO", r));
      relabel.emplace_back(r.substr(0, eq), r.substr(eq + 1));
    }
  }

  std::vector<report::Record> records;
  std::vector<std::string> notes;
  std::string error;
  if (!report::collect(inputs, &records, &notes, &error)) return usage_error(error);
  for (auto& m : records) {
    for (const auto& [from, to] : relabel) {
      if (m.label == from) {
        m.label = to;
        break;
      }
    }
  }
  for (const auto& n : notes) std::fprintf(stderr, "note: %s\n", n.c_str());

  report::Report r;
  std::set<std::string> seen;
  for (const auto& m : records) {
    if (seen.insert(m.source).second) {
      r.sources.push_back(
          fmt::format("{} ({}, {})", m.source, report::to_string(m.format), m.tool));
    }
  }
  if (!report::build_table(std::move(records), reference, &r.table, &error))
    return usage_error(error);

  if (!to_dir) {
    std::cout << report::render(formats.front(), r);
    std::cout.flush();
    return std::cout ? kExitOk : kExitFailed;
  }

  int status = kExitOk;
  const auto write = [&](const std::string& name, const std::string& content) {
    const std::string path = out_dir + "/" + name;
    std::string why;
    if (write_file_atomic(path, content, &why) < 0) {
      std::fprintf(stderr, "preemptbench report: %s\n", why.c_str());
      status = kExitFailed;
      return;
    }
    std::cout << path << '\n';
  };
  write(std::string(report::report_file_name(report::Format::kJson)),
        report::render(report::Format::kJson, r));
  if (!vm.count("no-plots")) {
    r.plots = report::draw_plots(exe_dir() + "/plot_report.py", out_dir + "/report.json", out_dir,
                                 &r.plot_note);
    if (!r.plot_note.empty()) std::fprintf(stderr, "note: %s\n", r.plot_note.c_str());
    for (const auto& p : r.plots) std::cout << out_dir << '/' << p.file << '\n';
  }
  for (const auto f : formats)
    write(std::string(report::report_file_name(f)), report::render(f, r));
  std::cout.flush();
  return status;
}

}  // namespace pb::cli
