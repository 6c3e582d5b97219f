// Hostile input for every reader: wrong types, huge or negative numbers,
// deep nesting, unknown schema versions, truncation, binary garbage, files
// that are not files. Each must be refused with a message that says what is
// wrong — and `report`/`compare` must exit 2 naming the file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pb/report/readers.h"
#include "report_test_util.h"
#include "tool_runner.h"

namespace pb::report {
namespace {

using json = nlohmann::json;
using pb::testing::golden_path;
using pb::testing::read_all;

struct Case {
  std::string name;
  std::string text;
  std::string expect;  // a substring of the message
};

void expect_refused(const Case& c) {
  std::vector<Record> out;
  std::string error;
  EXPECT_FALSE(read_result(c.text, "in.file", "x", &out, &error)) << c.name;
  EXPECT_TRUE(out.empty()) << c.name;
  EXPECT_EQ(error.rfind("in.file: ", 0), 0u) << c.name << ": " << error;
  EXPECT_NE(error.find(c.expect), std::string::npos)
      << c.name << ": \"" << error << "\" lacks \"" << c.expect << "\"";
}

json golden_json(const char* name) { return json::parse(read_all(golden_path(name))); }

std::string nested(int depth) {
  return std::string(static_cast<size_t>(depth), '[') +
         std::string(static_cast<size_t>(depth), ']');
}

TEST(IngestMalformed, CyclictestJson) {
  const json base = golden_json("cyclictest-2.4-t2-h200.json");
  const auto with = [&](const std::function<void(json&)>& f) {
    json j = base;
    f(j);
    return j.dump();
  };
  const std::string text = base.dump();
  for (const Case& c : std::vector<Case>{
           {"truncated", text.substr(0, text.size() / 2), "not valid JSON"},
           {"version", with([](json& j) { j["file_version"] = 2; }), "unsupported version 2"},
           {"negative cycles", with([](json& j) { j["thread"]["0"]["cycles"] = -5; }),
            "out of range"},
           {"string cycles", with([](json& j) { j["thread"]["0"]["cycles"] = "many"; }),
            "expected an integer"},
           {"float cycles", with([](json& j) { j["thread"]["0"]["cycles"] = 1.5; }),
            "expected an integer"},
           {"huge max", with([](json& j) { j["thread"]["0"]["max"] = 1e30; }), "out of range"},
           {"uint64 max", with([](json& j) { j["thread"]["0"]["max"] = UINT64_MAX; }),
            "out of range"},
           {"negative avg", with([](json& j) { j["thread"]["0"]["avg"] = -1.0; }), "out of range"},
           {"bucket key", with([](json& j) { j["thread"]["0"]["histogram"]["x"] = 1; }),
            "decimal bucket"},
           {"too many samples", with([](json& j) { j["thread"]["0"]["histogram"]["20"] = 100000; }),
            "more samples than"},
           {"huge count", with([](json& j) { j["thread"]["0"]["histogram"]["20"] = UINT64_MAX; }),
            "out of range"},
           {"bucket above max", with([](json& j) { j["thread"]["0"]["max"] = 8; }), "outside"},
           {"threads", with([](json& j) { j["num_threads"] = 3; }), "says 3"},
           {"thread array", with([](json& j) { j["thread"] = json::array(); }),
            "expected an object"},
           {"thread key", with([](json& j) {
              j["thread"]["zero"] = j["thread"]["0"];
              j["num_threads"] = 3;
            }),
            "decimal indices"},
           {"missing cycles", with([](json& j) { j["thread"]["0"].erase("cycles"); }),
            "missing key \"cycles\""},
           {"sysinfo type", with([](json& j) { j["sysinfo"]["release"] = 6; }),
            "expected a string"},
           {"deep", R"({"file_version": 1, "thread": {}, "x": )" + nested(100000) + "}",
            "nested deeper than 64"},
       }) {
    expect_refused(c);
  }
}

TEST(IngestMalformed, PbCyclicJson) {
  const json base = golden_json("report_pbcyclic-vm.json");
  const auto with = [&](const std::function<void(json&)>& f) {
    json j = base;
    f(j);
    return j.dump();
  };
  for (const Case& c : std::vector<Case>{
           {"version", with([](json& j) { j["schema"] = "preemptbench.cyclic/2"; }),
            "unsupported version"},
           {"cycles", with([](json& j) { j["thread"]["0"]["cycles"] = 7; }),
            "differs from latency_histogram.count"},
           {"no histogram", with([](json& j) { j["thread"]["0"].erase("latency_histogram"); }),
            "missing key"},
           {"bad bucket",
            with([](json& j) { j["thread"]["0"]["latency_histogram"]["buckets"][0][0] = 3; }),
            "bucket"},
           {"missed", with([](json& j) { j["thread"]["0"]["missed"] = -1; }), "out of range"},
           {"unit", with([](json& j) { j["unit"] = "furlongs"; }), "expected \"us\" or \"ns\""},
           {"deep machine", with([](json& j) { j["machine"]["x"] = json::parse(nested(70)); }),
            "nested deeper"},
       }) {
    expect_refused(c);
  }
}

TEST(IngestMalformed, RunDocument) {
  const json base = golden_json("report_run-vm1.json");
  const auto with = [&](const std::function<void(json&)>& f) {
    json j = base;
    f(j);
    return j.dump();
  };
  const std::string text = base.dump();
  for (const Case& c : std::vector<Case>{
           {"version", with([](json& j) { j["schema"] = "preemptbench.run/2"; }),
            "unsupported version"},
           {"foreign schema", with([](json& j) { j["schema"] = "acme.bench/1"; }),
            "unknown schema"},
           {"truncated", text.substr(0, text.size() - 10), "not valid JSON"},
           {"p99 type", with([](json& j) { j["cells"][0]["latency_ns"]["p99"] = "x"; }),
            "expected an integer"},
           {"count negative", with([](json& j) { j["cells"][0]["latency_ns"]["count"] = -1; }),
            "cells[0].latency_ns.count"},
           {"huge", with([](json& j) { j["cells"][0]["latency_ns"]["max"] = 1e300; }),
            "cells[0].latency_ns.max"},
           {"model", with([](json& j) { j["cells"][0]["model"] = "turbo"; }), "unknown model"},
           {"cells", with([](json& j) { j["cells"] = "none"; }), "expected an array"},
           {"negative ops", with([](json& j) { j["cells"][0]["throughput"]["ops_per_s"] = -3.0; }),
            "negative throughput"},
           {"deep", R"({"schema": "preemptbench.run/1", "machine": )" + nested(65) + "}",
            "nested deeper"},
           {"too many cells", with([](json& j) {
              j["cells"] = json::array();
              for (int i = 0; i < 10001; ++i) j["cells"].push_back(0);
            }),
            "10001 cells, more than the 10000"},
       }) {
    expect_refused(c);
  }
}

TEST(IngestMalformed, HistogramText) {
  const std::string good = read_all(golden_path("cyclictest-2.4-h20.txt"));
  std::string many_columns = "000001";
  for (int i = 0; i < 5000; ++i) many_columns += " 000001";
  for (const Case& c : std::vector<Case>{
           {"word", "# Histogram\n000001 abc\n", "not a histogram line"},
           {"huge count", "# Histogram\n000001 99999999999999999999999\n", "too large"},
           {"order", "# Histogram\n000002 000001\n000001 000001\n", "does not follow"},
           {"columns", "# Histogram\n000001 000001\t000002\n000002 000001\n",
            "earlier lines have 2"},
           {"total", "# Histogram\n000001 000003\n# Total: 000000004\n", "# Total"},
           {"max below bucket", "# Histogram\n000009 000003\n# Max Latencies: 00005\n",
            "# Max Latencies"},
           {"overflow under max",
            "# Histogram\n000001 000003\n# Max Latencies: 00001\n# Histogram Overflows: 00002\n",
            "overflowed"},
           {"bucket beyond", "# Histogram\n900000000 000001\n", "beyond 100 s"},
           {"wide", "# Histogram\n" + many_columns + "\n", "more than 4096 columns"},
           {"summary arity", "# Histogram\n000001 000001\n# Max Latencies: 00001 00002 00003\n",
            "3 values for 1 threads"},
           {"second total", good + "# Total: 000000133\n", "a second"},
           {"garbage after", good + "Segmentation fault\n", "not a histogram line"},
           {"binary", std::string("# Histogram\n\x00\x01\x02", 15), "binary data"},
           {"latin1", "# Histogram\n000001 000001 \xe9\n", "binary data"},
           {"empty", "", "not a result file"},
           {"prose", "hello\nworld\n", "not a result file"},
       }) {
    expect_refused(c);
  }
}

TEST(IngestMalformed, NotFilesAndTooLarge) {
  const std::string dir = pb::testing::scratch_dir("notfiles");
  std::string text, error;
  // A FIFO must be refused at once, not waited on for a writer.
  const std::string fifo = dir + "/fifo.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_FALSE(read_text_file(fifo, &text, &error));
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
  EXPECT_FALSE(read_text_file("/dev/zero", &text, &error));
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
  EXPECT_FALSE(read_text_file(dir, &text, &error));
  // A sparse file beyond the limit is refused before reading.
  const std::string big = dir + "/big.json";
  const int fd = ::open(big.c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kMaxFileBytes) + 1), 0);
  ::close(fd);
  EXPECT_FALSE(read_text_file(big, &text, &error));
  EXPECT_NE(error.find("larger than"), std::string::npos) << error;
  std::vector<Record> out;
  EXPECT_FALSE(collect({dir + "/missing.json"}, &out, nullptr, &error));
  EXPECT_NE(error.find("no such file"), std::string::npos) << error;
}

TEST(IngestMalformed, CommandsExitTwoNamingTheFile) {
  const std::string dir = pb::testing::scratch_dir("cli");
  const std::string bad = dir + "/bad.json";
  pb::testing::write_text(bad, R"({"file_version": 1, "thread": {"0": {"cycles": "x"}}})");
  const auto r = pb::testing::run_tool("preemptbench", {"report", bad});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("thread.0.cycles: expected an integer"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  const auto c = pb::testing::run_tool("preemptbench",
                                       {"compare", golden_path("cyclictest-2.4-t1.json"), bad});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find(bad), std::string::npos) << c.err;
  const std::string garbage = dir + "/garbage.txt";
  pb::testing::write_text(garbage, std::string("\x7f"
                                               "ELF\x02\x01\x01\x00\x00\x00",
                                               10));
  const auto g = pb::testing::run_tool("preemptbench", {"report", garbage});
  EXPECT_EQ(g.exit_code, 2);
  EXPECT_NE(g.err.find("binary data"), std::string::npos) << g.err;
}

}  // namespace
}  // namespace pb::report
