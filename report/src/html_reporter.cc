// report.html: one self-contained page — inline CSS, the plots embedded as
// base64 PNG data URIs, no script, no external reference — so it opens
// offline and can be mailed or attached to a CI run as it is.
#include <ostream>

#include "pb/report/escape.h"
#include "reporters.h"

namespace pb::report::detail {
namespace {

std::string base64(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                       static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size())
      v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

constexpr const char kStyle[] =
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;font-size:0.9em}"
    "th,td{border:1px solid #ccc;padding:0.25em 0.6em}"
    "th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "tr:nth-child(even){background:#fafafa}figure{margin:1.5em 0}"
    "img{max-width:100%;border:1px solid #ddd}figcaption{font-weight:600;margin-bottom:0.3em}";

class ReportHtmlReporter final : public Reporter<Report> {
 public:
  void report(const Report& r, std::ostream& out) const override {
    const auto html = html_escape;
    out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        << "<title>preemptbench report</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n"
        << "<h1>preemptbench report</h1>\n<p>" << html(table_summary(r)) << "</p>\n<table>\n<tr>";
    const auto header = table_header(r.table);
    for (const auto& h : header) out << "<th>" << html(h) << "</th>";
    out << "</tr>\n";
    for (const Row& row : r.table.rows) {
      out << "<tr>";
      const auto cells = table_cells(r.table, row);
      for (size_t i = 0; i < cells.size(); ++i) {
        out << (i < 6 ? "<td>" : "<td class=\"n\">") << html(cells[i]) << "</td>";
      }
      out << "</tr>\n";
    }
    out << "</table>\n";
    if (!r.table.notes.empty()) {
      out << "<h2>Notes</h2>\n<ul>\n";
      for (const auto& n : r.table.notes) out << "<li>" << html(n) << "</li>\n";
      out << "</ul>\n";
    }
    if (!r.plots.empty() || !r.plot_note.empty()) {
      out << "<h2>Plots</h2>\n";
      if (r.plots.empty()) out << "<p>" << html(r.plot_note) << "</p>\n";
      for (const Plot& p : r.plots) {
        out << "<figure><figcaption>" << html(p.title) << "</figcaption><img alt=\""
            << html(p.title) << "\" src=\"data:image/png;base64," << base64(p.png)
            << "\"></figure>\n";
      }
    }
    out << "<h2>Sources</h2>\n<ul>\n";
    for (const auto& s : r.sources) out << "<li>" << html(s) << "</li>\n";
    out << "</ul>\n</body>\n</html>\n";
  }
};

}  // namespace

std::unique_ptr<Reporter<Report>> make_report_html_reporter() {
  return std::make_unique<ReportHtmlReporter>();
}

}  // namespace pb::report::detail
