// libFuzzer: pb::report::read_cyclictest_json() on arbitrary bytes. Any input must give true
// or false with a message — never a crash, a sanitizer report or a hang.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pb/report/readers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<pb::report::Record> out;
  std::string error;
  if (!pb::report::read_cyclictest_json(text, "fuzz", &out, &error) && error.empty())
    __builtin_trap();
  return 0;
}
