// Escaping free text for the formats the reporters write, once for every
// reporter: names, labels, notes and errors come from users and machines and
// must not break a table or a page.
#pragma once

#include <string>
#include <string_view>

namespace pb::report {

// Markdown inline text: a backslash before \ ` * _ [ ] < | # (emphasis,
// code, links, HTML, table cells, headings); a line break becomes a space,
// so a value stays in its table cell or list item.
std::string markdown_escape(std::string_view s);

// One CSV field, RFC 4180: quoted when it holds a comma, a quote or a line
// break, with its quotes doubled; as it is otherwise.
std::string csv_field(std::string_view s);

// HTML text and attribute values: & < > " ' as entities.
std::string html_escape(std::string_view s);

}  // namespace pb::report
