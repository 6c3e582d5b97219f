// libFuzzer: format detection and dispatch (read_result()), then the table
// and every reporter over whatever was read — the whole path `report` takes
// from bytes to pages.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pb/report/readers.h"
#include "pb/report/reporter.h"
#include "pb/report/table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<pb::report::Record> out;
  std::string error;
  if (!pb::report::read_result(text, "fuzz", "fuzz", &out, &error)) {
    if (error.empty()) __builtin_trap();
    return 0;
  }
  pb::report::Report r;
  r.sources.push_back("fuzz");
  if (!pb::report::build_table(std::move(out), pb::report::ReferenceSelector{"model", "host"},
                               &r.table, &error)) {
    return 0;
  }
  for (auto f : {pb::report::Format::kMarkdown, pb::report::Format::kCsv, pb::report::Format::kHtml,
                 pb::report::Format::kJson}) {
    (void)pb::report::render(f, r);
  }
  return 0;
}
