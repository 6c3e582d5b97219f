// The "preemptbench.run/1" document: a round trip through JSON text keeps
// every field, and reading rejects malformed documents naming the offending
// key.
#include "pb/report/run_document.h"

#include <cmath>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pb/report/run_summary.h"
#include "run_sample.h"
#include "tool_runner.h"

namespace pb::report {
namespace {

using nlohmann::json;

json sample_json() { return json::parse(dump_json(to_json(testing::sample_document()))); }

void expect_same_summary(const wl::LatencySummary& a, const wl::LatencySummary& b) {
  EXPECT_EQ(a.min, b.min);
  EXPECT_EQ(a.p50, b.p50);
  EXPECT_EQ(a.p90, b.p90);
  EXPECT_EQ(a.p99, b.p99);
  EXPECT_EQ(a.p999, b.p999);
  EXPECT_EQ(a.max, b.max);
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.missed, b.missed);
}

TEST(RunDocument, RoundTripKeepsEveryField) {
  const RunDocument in = testing::sample_document();
  RunDocument out;
  std::string error;
  ASSERT_TRUE(from_json(json::parse(dump_json(to_json(in))), &out, &error)) << error;

  EXPECT_EQ(out.tool_name, "preemptbench");
  EXPECT_EQ(out.tool_version, in.tool_version);
  EXPECT_EQ(out.tool_git_commit, in.tool_git_commit);
  EXPECT_EQ(out.label, in.label);
  EXPECT_EQ(out.partial, in.partial);
  EXPECT_EQ(out.stopped_by, in.stopped_by);
  EXPECT_EQ(out.clock, in.clock);
  EXPECT_EQ(out.started, in.started);
  EXPECT_EQ(out.finished, in.finished);
  EXPECT_EQ(out.elapsed_s, in.elapsed_s);
  EXPECT_EQ(out.cells_planned, in.cells_planned);
  EXPECT_EQ(out.machine, in.machine);
  EXPECT_EQ(out.workloads, in.workloads);
  EXPECT_EQ(out.config.models, in.config.models);
  EXPECT_EQ(out.config.workloads, in.config.workloads);
  EXPECT_EQ(out.config.sets, in.config.sets);
  EXPECT_EQ(out.config.loads, in.config.loads);
  EXPECT_EQ(out.config.duration_s, in.config.duration_s);
  EXPECT_EQ(out.config.seed, in.config.seed);
  EXPECT_EQ(out.config.formats, in.config.formats);
  EXPECT_EQ(out.config.command_line, in.config.command_line);

  ASSERT_EQ(out.cells.size(), in.cells.size());
  for (size_t i = 0; i < in.cells.size(); ++i) {
    SCOPED_TRACE("cell " + std::to_string(i));
    const wl::CellResult& a = in.cells[i];
    const wl::CellResult& b = out.cells[i];
    EXPECT_EQ(b.model, a.model);
    EXPECT_EQ(b.workload, a.workload);
    EXPECT_EQ(b.load, a.load);
    EXPECT_EQ(b.round, a.round);
    EXPECT_EQ(b.clock, a.clock);
    EXPECT_EQ(b.duration_ns, a.duration_ns);
    EXPECT_EQ(b.host_fifo, a.host_fifo);
    ASSERT_EQ(b.measured.size(), a.measured.size());
    for (size_t m = 0; m < a.measured.size(); ++m) {
      EXPECT_EQ(b.measured[m].name, a.measured[m].name);
      EXPECT_EQ(b.measured[m].sched, a.measured[m].sched);
      EXPECT_EQ(b.measured[m].period_ns, a.measured[m].period_ns);
      EXPECT_EQ(b.measured[m].periods, a.measured[m].periods);
      expect_same_summary(b.measured[m].latency, a.measured[m].latency);
      expect_same_summary(b.measured[m].model_delay, a.measured[m].model_delay);
      EXPECT_TRUE(b.measured[m].latency_hist == a.measured[m].latency_hist);
      EXPECT_TRUE(b.measured[m].model_delay_hist == a.measured[m].model_delay_hist);
    }
    ASSERT_EQ(b.tasks.size(), a.tasks.size());
    for (size_t t = 0; t < a.tasks.size(); ++t) {
      const wl::TaskRecord& x = a.tasks[t];
      const wl::TaskRecord& y = b.tasks[t];
      EXPECT_EQ(y.name, x.name);
      EXPECT_EQ(y.sched_class, x.sched_class);
      EXPECT_EQ(y.priority, x.priority);
      EXPECT_EQ(y.nice, x.nice);
      EXPECT_EQ(y.vcpu, x.vcpu);
      EXPECT_EQ(y.ops, x.ops);
      EXPECT_EQ(y.runtime_ns, x.runtime_ns);
      EXPECT_EQ(y.wait_ns, x.wait_ns);
      EXPECT_EQ(y.dispatches, x.dispatches);
      EXPECT_EQ(y.preemptions, x.preemptions);
      EXPECT_EQ(y.periodic, x.periodic);
      expect_same_summary(y.latency, x.latency);
      EXPECT_EQ(y.deadline_misses, x.deadline_misses);
    }
    EXPECT_EQ(b.throughput.ops, a.throughput.ops);
    EXPECT_EQ(b.throughput.ops_per_s, a.throughput.ops_per_s);
    EXPECT_EQ(b.throughput.work_fraction, a.throughput.work_fraction);
    EXPECT_EQ(b.throughput.ctx_switches_per_s, a.throughput.ctx_switches_per_s);
    EXPECT_EQ(b.throughput.preemptions_per_s, a.throughput.preemptions_per_s);
    EXPECT_EQ(b.throughput.preemptions_by_point_per_s, a.throughput.preemptions_by_point_per_s);
    EXPECT_EQ(b.windows.preemptoff_max_ns, a.windows.preemptoff_max_ns);
    EXPECT_EQ(b.windows.preemptoff_where, a.windows.preemptoff_where);
    EXPECT_EQ(b.windows.irqsoff_max_ns, a.windows.irqsoff_max_ns);
    EXPECT_EQ(b.counters, a.counters);
    EXPECT_EQ(b.notes, a.notes);
    EXPECT_EQ(b.watchdog_tripped, a.watchdog_tripped);
    EXPECT_EQ(b.partial, a.partial);
    ASSERT_EQ(b.segments.size(), a.segments.size());
    for (size_t k = 0; k < a.segments.size(); ++k) {
      EXPECT_EQ(b.segments[k].start_ns, a.segments[k].start_ns);
      EXPECT_EQ(b.segments[k].duration_ns, a.segments[k].duration_ns);
      EXPECT_EQ(b.segments[k].host_stolen_ns, a.segments[k].host_stolen_ns);
      EXPECT_EQ(b.segments[k].host_stall_ns, a.segments[k].host_stall_ns);
      EXPECT_EQ(b.segments[k].rt_busy_max_ns, a.segments[k].rt_busy_max_ns);
      EXPECT_EQ(b.segments[k].samples, a.segments[k].samples);
      EXPECT_EQ(b.segments[k].missed, a.segments[k].missed);
      EXPECT_EQ(b.segments[k].max_ns, a.segments[k].max_ns);
    }
    EXPECT_EQ(b.error, a.error);
  }
  // Writing what was read gives the same text.
  EXPECT_EQ(dump_json(to_json(out)), dump_json(to_json(in)));
}

TEST(RunDocument, HeadlineIsTheFirstMeasuringTask) {
  const RunDocument d = testing::sample_document();
  const json j = to_json(d);
  const json cell = j["cells"][3];
  EXPECT_EQ(cell["latency_ns"]["p99"], d.cells[3].measured[0].latency.p99);
  EXPECT_EQ(cell["histogram"]["count"], d.cells[3].measured[0].latency_hist.count());
  EXPECT_EQ(cell["measured"].size(), 2u);
  // A cell that failed measured nothing: zeros and an empty histogram.
  const json failed = j["cells"][5];
  EXPECT_EQ(failed["latency_ns"]["count"], 0);
  EXPECT_TRUE(failed["histogram"]["buckets"].empty());
  EXPECT_EQ(failed["measured"].size(), 0u);
  EXPECT_FALSE(failed["error"].get<std::string>().empty());
}

TEST(RunDocument, KeysAreInTheDocumentedOrder) {
  const auto j = to_json(testing::sample_document());
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"schema", "tool", "label", "partial", "stopped_by", "clock",
                                      "started", "finished", "elapsed_s", "cells_planned",
                                      "machine", "config", "workloads", "cells"}));
  EXPECT_EQ(j["schema"], "preemptbench.run/1");
  for (const char* k :
       {"model", "workload", "load", "latency_ns", "throughput", "windows", "histogram", "measured",
        "model_delay_ns", "counters", "notes", "error", "round", "clock"}) {
    EXPECT_TRUE(j["cells"][0].contains(k)) << k;
  }
}

TEST(RunDocument, NonFiniteNumbersAreNullAndReadBackAsNaN) {
  RunDocument d = testing::sample_document();
  d.cells[0].throughput.ops_per_s = std::nan("");
  d.cells[0].throughput.work_fraction = HUGE_VAL;
  const json j = json::parse(dump_json(to_json(d)));
  EXPECT_TRUE(j["cells"][0]["throughput"]["ops_per_s"].is_null());
  EXPECT_TRUE(j["cells"][0]["throughput"]["work_fraction"].is_null());
  RunDocument out;
  std::string error;
  ASSERT_TRUE(from_json(j, &out, &error)) << error;
  EXPECT_TRUE(std::isnan(out.cells[0].throughput.ops_per_s));
}

TEST(RunDocument, BucketArraysStayOnOneLine) {
  const std::string text = dump_json(to_json(testing::sample_document()));
  EXPECT_NE(text.find("\"buckets\": [["), std::string::npos);
  EXPECT_NE(text.find("\"loads\": [0.5,1.0]"), std::string::npos) << text.substr(0, 3000);
  EXPECT_NE(text.find("\n  \"cells\": [\n    {\n      \"model\": \"none\""), std::string::npos);
  EXPECT_EQ(text.back(), '\n');
}

TEST(RunDocument, MinimalDocumentWithTheRequiredKeysReads) {
  const json j = json::parse(R"({
    "schema": "preemptbench.run/1", "partial": false, "machine": {}, "config": {},
    "cells": [{"model": "rt", "workload": "w", "load": 1,
               "latency_ns": {"min": 1, "p50": 2, "p90": 3, "p99": 4, "p999": 5, "max": 6,
                              "count": 7, "missed": 0},
               "throughput": {"ops_per_s": 1.5, "work_fraction": 0.5,
                              "ctx_switches_per_s": 10, "preemptions_per_s": 2},
               "windows": {"preemptoff_max_ns": 100, "irqsoff_max_ns": 50},
               "histogram": {"unit": "ns", "count": 0, "overflow": 0, "min": 0, "max": 0,
                             "sum": 0, "buckets": []},
               "something_new": {"ignored": true}}]})");
  RunDocument d;
  std::string error;
  ASSERT_TRUE(from_json(j, &d, &error)) << error;
  ASSERT_EQ(d.cells.size(), 1u);
  ASSERT_EQ(d.cells[0].measured.size(), 1u);  // the headline, from the cell's own keys
  EXPECT_EQ(d.cells[0].measured[0].latency.p99, 4);
  EXPECT_EQ(d.cells[0].throughput.ops_per_s, 1.5);
  EXPECT_EQ(d.cells[0].windows.irqsoff_max_ns, 50);
}

// --- rejection: each mutation names its key ------------------------------------------

struct Mutation {
  const char* pointer;  // JSON pointer into the sample document
  json value;           // discarded: remove the key
  const char* message;  // expected in the error
};

TEST(RunDocument, MalformedDocumentsAreRejectedWithTheOffendingKey) {
  const json kRemove = json(json::value_t::discarded);
  const std::vector<Mutation> mutations = {
      {"/schema", kRemove, "missing key \"schema\""},
      {"/schema", "preemptbench.run/2", "schema: unsupported version \"preemptbench.run/2\""},
      {"/schema", "preemptbench.cyclic/1",
       "schema: \"preemptbench.cyclic/1\" is not a preemptbench run"},
      {"/schema", 1, "schema: expected a string, got an integer"},
      {"/partial", "yes", "partial: expected true or false, got string"},
      {"/partial", kRemove, "missing key \"partial\""},
      {"/machine", json::array(), "machine: expected an object, got array"},
      {"/config", kRemove, "missing key \"config\""},
      {"/config/loads/1", "x", "config.loads[1]: expected a number, got string"},
      {"/config/rounds", 0, "config.rounds: 0 is out of range"},
      {"/config/models", "none", "config.models: expected an array of strings, got string"},
      {"/cells", kRemove, "missing key \"cells\""},
      {"/cells", json::object(), "cells: expected an array, got object"},
      {"/cells/1", 5, "cells[1]: expected an object, got an integer"},
      {"/cells/0/model", "preempt", "cells[0].model: unknown model \"preempt\""},
      {"/cells/0/model", kRemove, "cells[0]: missing key \"model\""},
      {"/cells/0/workload", nullptr, "cells[0].workload: expected a string, got null"},
      {"/cells/2/load", "1", "cells[2].load: expected a number, got string"},
      {"/cells/2/load", -1, "cells[2].load: expected a finite non-negative number"},
      {"/cells/0/latency_ns/p99", "12", "cells[0].latency_ns.p99: expected an integer, got string"},
      {"/cells/0/latency_ns/p99", 1.5,
       "cells[0].latency_ns.p99: expected an integer, got a non-integer number"},
      {"/cells/0/latency_ns/count", -1,
       "cells[0].latency_ns.count: expected a non-negative integer, got -1"},
      {"/cells/0/latency_ns/p999", kRemove, "cells[0].latency_ns: missing key \"p999\""},
      {"/cells/0/latency_ns/p50", 1, "cells[0].latency_ns: differs from measured[0].latency_ns"},
      {"/cells/1/throughput/ops_per_s", kRemove, "cells[1].throughput: missing key \"ops_per_s\""},
      {"/cells/1/throughput/work_fraction", true,
       "cells[1].throughput.work_fraction: expected a number, got boolean"},
      {"/cells/1/throughput/preemptions_by_point_per_s/cond_resched", "x",
       "cells[1].throughput.preemptions_by_point_per_s.cond_resched: expected a number"},
      {"/cells/1/windows/irqsoff_max_ns", kRemove,
       "cells[1].windows: missing key \"irqsoff_max_ns\""},
      {"/cells/1/windows", kRemove, "cells[1]: missing key \"windows\""},
      {"/cells/1/histogram", kRemove, "cells[1]: missing key \"histogram\""},
      {"/cells/1/histogram/buckets", "x",
       "cells[1].histogram: histogram JSON: \"buckets\" must be an array"},
      {"/cells/3/measured/1/latency_ns", kRemove,
       "cells[3].measured[1]: missing key \"latency_ns\""},
      {"/cells/3/measured/1/histogram/count", 3, "cells[3].measured[1].histogram: histogram JSON"},
      {"/cells/3/counters/dispatches", -3,
       "cells[3].counters.dispatches: expected a non-negative integer"},
      {"/cells/3/notes", "text", "cells[3].notes: expected an array of strings, got string"},
      {"/cells/3/notes/0", 1, "cells[3].notes[0]: expected a string"},
      {"/cells/3/clock", "wall", "cells[3].clock: expected \"real\" or \"simulated\""},
      {"/cells/5/error", false, "cells[5].error: expected a string, got boolean"},
      {"/workloads", "x", "workloads: expected an object, got string"},
  };
  for (const Mutation& m : mutations) {
    SCOPED_TRACE(m.pointer);
    json j = sample_json();
    const json::json_pointer p(m.pointer);
    ASSERT_TRUE(j.contains(p));
    if (m.value.is_discarded()) {
      j[p.parent_pointer()].erase(p.back());
    } else {
      j[p] = m.value;
    }
    RunDocument d;
    d.label = "untouched";
    std::string error;
    EXPECT_FALSE(from_json(j, &d, &error));
    EXPECT_NE(error.find(m.message), std::string::npos) << "error: " << error;
    EXPECT_EQ(d.label, "untouched");  // *out is left alone on failure
  }
}

TEST(RunDocument, NotAnObjectIsRejected) {
  std::string error;
  RunDocument d;
  EXPECT_FALSE(from_json(json::array(), &d, &error));
  EXPECT_EQ(error, "expected an object, got array");
}

TEST(RunDocument, ReadingAFileNamesItInErrors) {
  const std::string path = testing::temp_path("run_doc.json");
  RunDocument d;
  std::string error;
  EXPECT_FALSE(read_run_document(path + ".missing", &d, &error));
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;

  std::ofstream(path) << "{\"schema\": ";
  EXPECT_FALSE(read_run_document(path, &d, &error));
  EXPECT_NE(error.find(path + ": not JSON"), std::string::npos) << error;

  std::ofstream(path) << dump_json(to_json(testing::sample_document()));
  ASSERT_TRUE(read_run_document(path, &d, &error)) << error;
  EXPECT_EQ(d.cells.size(), 6u);

  std::ofstream(path) << R"({"schema": "preemptbench.run/1"})";
  EXPECT_FALSE(read_run_document(path, &d, &error));
  EXPECT_EQ(error, path + ": missing key \"partial\"");
  std::remove(path.c_str());
}

// --- derived figures -----------------------------------------------------------------

TEST(RunSummary, ThroughputIsRelativeToNoneAtTheSameWorkloadLoadAndRound) {
  const RunDocument d = testing::sample_document();
  const auto rel = throughput_vs_none(d.cells);
  ASSERT_EQ(rel.size(), 6u);
  EXPECT_EQ(rel[0], 1.0);  // none itself
  EXPECT_EQ(rel[1], 0.5);  // full 5000 vs none 10000 at load 0.5
  EXPECT_EQ(rel[2], 1.0);
  EXPECT_EQ(rel[3], 0.9);  // 18000 vs 20000 at load 1
  EXPECT_EQ(rel[4], 1.0);
  EXPECT_FALSE(rel[5]);  // failed cell
  RunDocument no_none = d;
  no_none.cells.erase(no_none.cells.begin());
  EXPECT_FALSE(throughput_vs_none(no_none.cells)[0]);  // full at 0.5 has no NONE cell now
  RunDocument other_round = d;
  other_round.cells[1].round = 1;
  EXPECT_FALSE(throughput_vs_none(other_round.cells)[1]);
}

}  // namespace
}  // namespace pb::report
