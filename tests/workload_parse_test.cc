// Workload descriptions: parsing, the canonical writer's round trip, --set,
// and the rejection of malformed input with a message that names the origin,
// the key path and what was expected. Pure: no threads, no executive run.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pb/workloads/workload.h"

namespace {

using pb::exec::LockType;
using pb::exec::Policy;
using pb::wl::parse_workload;
using pb::wl::SegmentKind;
using pb::wl::Workload;
using pb::wl::WorkloadError;

// A small valid description; tests splice their variations into it.
std::string doc(const std::string& tasks, const std::string& extra = "") {
  return R"({"name": "t", )" + extra + R"("tasks": )" + tasks + "}";
}
const char* kMeasure =
    R"({"name": "m", "class": "fifo", "priority": 90, "period_us": 1000, "measure": true})";

// The WorkloadError message of parsing `text` with `sets`, or "" if it parsed.
std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    (void)parse_workload(text, "test.json", sets);
  } catch (const WorkloadError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_REJECTED(text, ...)                          \
  do {                                                      \
    const std::string msg_ = error_of(text);                \
    ASSERT_FALSE(msg_.empty()) << "accepted: " << (text);   \
    EXPECT_EQ(msg_.rfind("test.json: ", 0), 0u) << msg_;    \
    for (const char* part_ : {__VA_ARGS__})                 \
      EXPECT_NE(msg_.find(part_), std::string::npos)        \
          << "message lacks \"" << part_ << "\": " << msg_; \
  } while (0)

TEST(WorkloadParse, MinimalDescription) {
  const Workload w = parse_workload(doc(std::string("[") + kMeasure + "]"), "x", {});
  EXPECT_EQ(w.name, "t");
  ASSERT_EQ(w.tasks.size(), 1u);
  EXPECT_EQ(w.tasks[0].sched, Policy::kFifo);
  EXPECT_EQ(w.tasks[0].priority, 90);
  EXPECT_EQ(w.tasks[0].period_us, 1000);
  EXPECT_TRUE(w.tasks[0].measure);
  EXPECT_EQ(w.tasks[0].count, 1);
}

TEST(WorkloadParse, EverySegmentKind) {
  const std::string text = R"({
    "name": "all", "description": "every kind",
    "locks": [{"name": "a", "type": "raw_spinlock"}, {"name": "b", "type": "spinlock"},
              {"name": "c", "type": "mutex"}, {"name": "d", "type": "rt_mutex"}],
    "channels": ["ch"],
    "irqs": [{"name": "dev", "vcpu": 1, "rate_hz": 1000, "handler_us": 5, "softirq_us": 20,
              "threading": "never", "thread_priority": 60}],
    "tasks": [
      {"name": "w", "class": "rr", "priority": 10, "vcpu": 1, "count": 3, "user_us": 7,
       "path": [
         {"compute_us": 100, "cond_resched_us": 10, "might_sleep_us": 20},
         {"point": "might_resched"},
         {"mutex_placeholder_for_order": 0}
       ]}
    ]})";
  // The placeholder is an unknown segment key: the message lists the kinds.
  const std::string msg = error_of(text);
  EXPECT_NE(msg.find("tasks[0].path[2]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("compute_us, point, lock"), std::string::npos) << msg;

  const std::string good = R"({
    "name": "all",
    "locks": [{"name": "a", "type": "raw_spinlock"}, {"name": "b", "type": "spinlock"},
              {"name": "c", "type": "mutex"}, {"name": "d", "type": "rt_mutex"}],
    "channels": ["ch"],
    "irqs": [{"name": "dev", "vcpu": 1, "rate_hz": 1000, "handler_us": 5, "softirq_us": 20,
              "threading": "never", "thread_priority": 60}],
    "tasks": [
      {"name": "w", "class": "rr", "priority": 10, "vcpu": 1, "count": 3, "user_us": 7,
       "path": [
         {"compute_us": 100, "cond_resched_us": 10, "might_sleep_us": 20},
         {"point": "might_resched"},
         {"lock": "c", "path": [{"lock": "d", "path": [{"sleep_us": 5}]}]},
         {"lock": "a", "irqsave": true, "path": [{"lock": "b", "path": [{"compute_us": 1}]}]},
         {"preempt_off": [{"irqs_off": [{"bh_off": [{"compute_us": 2}]}]}]},
         {"send": "ch", "count": 2}, {"recv": "ch"},
         {"io": "read", "bytes": 4096}, {"io": "nop"}
       ]}
    ]})";
  const Workload w = parse_workload(good, "x", {});
  ASSERT_EQ(w.locks.size(), 4u);
  EXPECT_EQ(w.locks[3].kind, LockType::kRtMutex);
  ASSERT_EQ(w.irqs.size(), 1u);
  EXPECT_EQ(w.irqs[0].thread_priority, 60);
  const auto& p = w.tasks[0].path;
  ASSERT_EQ(p.size(), 9u);
  EXPECT_EQ(p[0].cond_resched_us, 10);
  EXPECT_EQ(p[2].kind, SegmentKind::kLock);
  EXPECT_EQ(p[2].path[0].path[0].kind, SegmentKind::kSleep);
  EXPECT_TRUE(p[3].irqsave);
  EXPECT_EQ(p[4].path[0].path[0].kind, SegmentKind::kBhOff);
  EXPECT_EQ(p[5].count, 2);
  EXPECT_EQ(p[7].bytes, 4096);
  EXPECT_EQ(pb::wl::nominal_busy_us(w.tasks[0]), 7 + 100 + 1 + 2);
  EXPECT_EQ(pb::wl::instance_name(w.tasks[0], 2), "w-2");
  EXPECT_EQ(pb::wl::sched_label(w.tasks[0]), "rr:10");

  // Round trip: the canonical text loads back to an equal description, and
  // writing it again gives the same text.
  const std::string text1 = pb::wl::to_json_text(w);
  const Workload w2 = parse_workload(text1, "again", {});
  EXPECT_EQ(w, w2);
  EXPECT_EQ(pb::wl::to_json_text(w2), text1);
}

TEST(WorkloadParse, ParamsReferencesAndSet) {
  const std::string text = R"({
    "name": "p",
    "params": {"section_us": 500, "kind": "mutex", "on": true, "n": 2},
    "locks": [{"name": "l", "type": "${kind}"}],
    "tasks": [
      {"name": "m", "class": "fifo", "priority": 90, "period_us": 1000, "measure": "${on}"},
      {"name": "bg", "count": "${n}", "path": [{"lock": "l", "path": [{"compute_us": "${section_us}"}]}]}
    ]})";
  const Workload w = parse_workload(text, "x", {});
  EXPECT_EQ(w.tasks[1].path[0].path[0].us, 500);
  EXPECT_EQ(w.locks[0].kind, LockType::kMutex);
  EXPECT_EQ(w.tasks[1].count, 2);
  ASSERT_EQ(w.params.size(), 4u);
  EXPECT_EQ(w.params[0].name, "section_us");
  EXPECT_EQ(w.params[0].json, "500");

  const Workload s =
      parse_workload(text, "x", {"section_us=250", "kind=rt_mutex", "n=3", "section_us=300"});
  EXPECT_EQ(s.tasks[1].path[0].path[0].us, 300);  // the last --set of a key wins
  EXPECT_EQ(s.locks[0].kind, LockType::kRtMutex);
  EXPECT_EQ(s.tasks[1].count, 3);
  EXPECT_EQ(s.params[1].json, "\"rt_mutex\"");

  // The canonical text keeps the references, so --set still works on it.
  const std::string canon = pb::wl::to_json_text(s);
  EXPECT_NE(canon.find("\"${section_us}\""), std::string::npos) << canon;
  const Workload back = parse_workload(canon, "canon", {});
  EXPECT_EQ(back, s);
  EXPECT_EQ(parse_workload(canon, "canon", {"section_us=7"}).tasks[1].path[0].path[0].us, 7);
}

TEST(WorkloadParse, ReferenceKeptWhereTheValueIsTheDefault) {
  const std::string text = R"({"name": "p", "params": {"cr": 0, "v": 0},
    "tasks": [{"name": "bg", "vcpu": "${v}", "path": [{"compute_us": 10, "cond_resched_us": "${cr}"}]}]})";
  const Workload w = parse_workload(text, "x", {});
  const Workload back = parse_workload(pb::wl::to_json_text(w), "y", {});
  EXPECT_EQ(w, back);
  EXPECT_EQ(parse_workload(pb::wl::to_json_text(w), "y", {"cr=5"}).tasks[0].path[0].cond_resched_us,
            5);
}

TEST(WorkloadParse, RejectsBadSet) {
  const std::string text = R"({"name": "p", "params": {"section_us": 500, "on": true},
    "tasks": [{"name": "bg", "measure": "${on}", "period_us": 100, "path": [{"compute_us": "${section_us}"}]}]})";
  auto set_error = [&](const std::string& s) {
    try {
      (void)parse_workload(text, "test.json", {s});
    } catch (const WorkloadError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(set_error("nope=1").find(
                "unknown parameter \"nope\" (this workload declares: section_us, on)"),
            std::string::npos)
      << set_error("nope=1");
  EXPECT_NE(set_error("section_us").find("expected key=value"), std::string::npos);
  EXPECT_NE(set_error("=5").find("expected key=value"), std::string::npos);
  EXPECT_NE(set_error("section_us=abc").find("expected an integer, got \"abc\""),
            std::string::npos);
  EXPECT_NE(set_error("section_us=1.5").find("expected an integer"), std::string::npos);
  EXPECT_NE(set_error("section_us=").find("expected an integer"), std::string::npos);
  EXPECT_NE(set_error("section_us=99999999999999999999").find("expected an integer"),
            std::string::npos);
  EXPECT_NE(set_error("on=yes").find("expected true or false"), std::string::npos);
  // A value of the right type but out of range is reported where it is used.
  const std::string neg = set_error("section_us=-3");
  EXPECT_NE(
      neg.find(
          "tasks[0].path[0].compute_us: expected a positive integer, got -3 (from ${section_us})"),
      std::string::npos)
      << neg;
  const std::string huge = set_error("section_us=100000000000");
  EXPECT_NE(huge.find("expected at most 10000000, got 100000000000"), std::string::npos) << huge;
}

TEST(WorkloadParse, RejectsBadParams) {
  EXPECT_REJECTED(doc("[]", R"("params": [1], )"), "params", "expected an object");
  EXPECT_REJECTED(doc("[]", R"("params": {"a": [1]}, )"), "params.a", "expected a number");
  EXPECT_REJECTED(doc("[]", R"("params": {"a": null}, )"), "params.a");
  EXPECT_REJECTED(doc("[]", R"("params": {"1a": 1}, )"), "params.1a", "parameter name");
  EXPECT_REJECTED(doc("[]", R"("params": {"a": "${b}"}, )"), "params.a", "cannot reference");
  EXPECT_REJECTED(doc(std::string("[") + kMeasure + "]", R"("params": {"unused": 1}, )"),
                  "params.unused", "never referenced");
  // References: unknown, partial, nested in text.
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": "${nope}"}])", R"("params": {"a": 1}, )"),
                  "tasks[0].user_us", "unknown parameter \"nope\"", "declared: a");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": "${a}0"}])", R"("params": {"a": 1}, )"),
                  "tasks[0].user_us", "whole value");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": "x${a}"}])", R"("params": {"a": 1}, )"),
                  "whole value");
  // A parameter of the wrong type for where it is used.
  EXPECT_REJECTED(
      doc(R"([{"name": "bg", "user_us": "${a}"}])", R"("params": {"a": "ten"}, )"),
      "tasks[0].user_us: expected a non-negative integer, got the string \"ten\" (from ${a})");
}

TEST(WorkloadParse, RejectsWrongTypes) {
  EXPECT_REJECTED("[]", "expected a JSON object at the top level, got an array");
  EXPECT_REJECTED("42", "expected a JSON object");
  EXPECT_REJECTED(R"({"name": 5, "tasks": []})", "name: expected a name");
  EXPECT_REJECTED(doc("{}"), "tasks: expected an array, got an object");
  EXPECT_REJECTED(doc("[5]"), "tasks[0]: expected an object, got 5");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": "10"}])"),
                  "tasks[0].user_us: expected a non-negative integer, got the string \"10\"");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": 1.5}])"), "tasks[0].user_us",
                  "1.5 (not an integer)");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": true}])"), "tasks[0].user_us", "got true");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": null}])"), "tasks[0].user_us", "got null");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": 5, "measure": 1}])"), "tasks[0].measure",
                  "expected true or false");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "class": "deadline", "user_us": 5}])"), "tasks[0].class",
                  "expected one of \"fair\", \"fifo\", \"rr\"");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": {"compute_us": 5}}])"),
                  "tasks[0].path: expected an array");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [[1]]}])"),
                  "tasks[0].path[0]: expected a segment object");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"point": "schedule"}]}])"),
                  "tasks[0].path[0].point", "\"cond_resched\"");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"io": "read"}]}])"), "tasks[0].path[0]",
                  "missing required key \"bytes\"");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"io": "nop", "bytes": 5}]}])"),
                  "tasks[0].path[0].bytes");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": 1}])",
                      R"("locks": [{"name": "l", "type": "semaphore"}], )"),
                  "locks[0].type");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": 1}])", R"("channels": [1], )"), "channels[0]");
  EXPECT_REJECTED(
      doc(R"([{"name": "bg", "user_us": 1}])", R"("irqs": [{"name": "i", "rate_hz": "x"}], )"),
      "irqs[0].rate_hz: expected a positive integer");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": 1}])",
                      R"("irqs": [{"name": "i", "rate_hz": 10, "threading": "sometimes"}], )"),
                  "irqs[0].threading");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": 1}])", R"("format": "other/2", )"), "format");
}

TEST(WorkloadParse, RejectsUnknownKeys) {
  EXPECT_REJECTED(doc(std::string("[") + kMeasure + "]", R"("task": 1, )"), "task: unknown key",
                  "expected one of: format, name");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": 5, "prio": 3}])"),
                  "tasks[0].prio: unknown key");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"compute_us": 5, "cond_resched": 1}]}])"),
                  "tasks[0].path[0].cond_resched: unknown key",
                  "expected one of: compute_us, cond_resched_us, might_sleep_us");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"computeus": 5}]}])"), "tasks[0].path[0]",
                  "got keys computeus");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{}]}])"), "tasks[0].path[0]", "empty object");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"compute_us": 5, "sleep_us": 5}]}])"),
                  "tasks[0].path[0]", "exactly one");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": 1}])",
                      R"("locks": [{"name": "l", "type": "mutex", "pi": true}], )"),
                  "locks[0].pi: unknown key");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": 1}])",
                      R"("irqs": [{"name": "i", "rate_hz": 10, "cost_us": 1}], )"),
                  "irqs[0].cost_us: unknown key");
}

TEST(WorkloadParse, RejectsOutOfRange) {
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"compute_us": -3}]}])"),
                  "tasks[0].path[0].compute_us: expected a positive integer, got -3");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"compute_us": 0}]}])"),
                  "expected a positive integer, got 0");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"compute_us": 10000001}]}])"),
                  "expected at most 10000000, got 10000001");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"compute_us": 18446744073709551615}]}])"),
                  "expected at most 10000000");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"compute_us": 1e300}]}])"), "compute_us",
                  "not an integer");
  EXPECT_REJECTED(
      doc(R"([{"name": "bg", "path": [{"compute_us": 123456789012345678901234567890}]}])"),
      "compute_us");
  EXPECT_REJECTED(doc(R"([{"name": "r", "class": "fifo", "priority": 100, "user_us": 1}])"),
                  "tasks[0].priority: expected at most 99, got 100");
  EXPECT_REJECTED(doc(R"([{"name": "r", "class": "fifo", "priority": 0, "user_us": 1}])"),
                  "tasks[0].priority: expected a positive integer, got 0");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "priority": 5, "user_us": 1}])"), "tasks[0].priority",
                  "fifo and rr only");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "vcpu": 64, "user_us": 1}])"),
                  "tasks[0].vcpu: expected at most 63");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "vcpu": -1, "user_us": 1}])"),
                  "tasks[0].vcpu: expected a non-negative");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "count": 65, "user_us": 1}])"),
                  "tasks[0].count: expected at most 64");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "period_us": 5, "user_us": 1}])"), "tasks[0].period_us");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "period_us": 100, "deadline_us": 200, "user_us": 1}])"),
                  "tasks[0].deadline_us: expected at most 100");
  EXPECT_REJECTED(
      doc(R"([{"name": "bg", "user_us": 1}])",
          R"("irqs": [{"name": "i", "rate_hz": 1000, "handler_us": 600, "softirq_us": 600}], )"),
      "irqs[0]", "exceed the interrupt period");
  EXPECT_REJECTED(
      doc(R"([{"name": "bg", "user_us": 1}])", R"("irqs": [{"name": "i", "rate_hz": 100001}], )"),
      "irqs[0].rate_hz: expected at most 100000");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"io": "read", "bytes": 2000000}]}])"),
                  "tasks[0].path[0].bytes");
  EXPECT_REJECTED(
      doc(R"([{"name": "bg", "path": [{"send": "c", "count": 0}]}, {"name": "r", "path": [{"recv": "c"}]}])",
          R"("channels": ["c"], )"),
      "tasks[0].path[0].count");
}

TEST(WorkloadParse, RejectsMissingAndInconsistent) {
  EXPECT_REJECTED(R"({"tasks": []})", "missing required key \"name\"");
  EXPECT_REJECTED(R"({"name": "x"})", "missing required key \"tasks\"");
  EXPECT_REJECTED(doc("[]"), "tasks: expected at least one task");
  EXPECT_REJECTED(doc(R"([{"user_us": 1}])"), "tasks[0]: missing required key \"name\"");
  EXPECT_REJECTED(doc(R"([{"name": "r", "class": "fifo", "user_us": 1}])"), "tasks[0]",
                  "missing required key \"priority\"");
  EXPECT_REJECTED(doc(R"([{"name": "bg"}])"), "tasks[0]",
                  "continuous task needs user_us or a path");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "measure": true, "user_us": 1}])"), "tasks[0].measure",
                  "periodic");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "phase_us": 10, "user_us": 1}])"), "tasks[0].phase_us",
                  "periodic tasks only");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "count": 0, "user_us": 1}])"), "no task instances");
  EXPECT_REJECTED(doc(R"([{"name": "a", "user_us": 1}, {"name": "a", "user_us": 1}])"),
                  "tasks[1].name", "used twice");
  EXPECT_REJECTED(
      doc(R"([{"name": "a", "count": 2, "user_us": 1}, {"name": "a-1", "user_us": 1}])"),
      "tasks[1].name", "\"a-1\" is used twice");
  EXPECT_REJECTED(doc(R"([{"name": "bad name", "user_us": 1}])"), "tasks[0].name: expected a name");
  EXPECT_REJECTED(doc(R"([{"name": "a234567890123456789012345", "user_us": 1}])"), "tasks[0].name");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": []}])"),
                  "tasks[0].path: expected at least one segment");
  // Locks and channels.
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"lock": "l", "path": [{"compute_us": 1}]}]}])"),
                  "tasks[0].path[0].lock: unknown lock \"l\"");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"lock": "l"}]}])",
                      R"("locks": [{"name": "l", "type": "mutex"}], )"),
                  "tasks[0].path[0]: missing required key \"path\"");
  EXPECT_REJECTED(
      doc(R"([{"name": "bg", "user_us": 1}])",
          R"("locks": [{"name": "l", "type": "mutex"}, {"name": "l", "type": "spinlock"}], )"),
      "locks[1].name", "duplicate");
  EXPECT_REJECTED(
      doc(R"([{"name": "bg", "path": [{"lock": "l", "irqsave": true, "path": [{"compute_us": 1}]}]}])",
          R"("locks": [{"name": "l", "type": "mutex"}], )"),
      "tasks[0].path[0].irqsave", "no _irqsave variant");
  EXPECT_REJECTED(
      doc(R"([{"name": "bg", "path": [{"lock": "l", "path": [{"lock": "l", "path": [{"compute_us": 1}]}]}]}])",
          R"("locks": [{"name": "l", "type": "spinlock"}], )"),
      "tasks[0].path[0].path[0].lock", "already held");
  EXPECT_REJECTED(
      doc(R"([{"name": "bg", "path": [{"lock": "b", "path": [{"lock": "a", "path": [{"compute_us": 1}]}]}]}])",
          R"("locks": [{"name": "a", "type": "spinlock"}, {"name": "b", "type": "spinlock"}], )"),
      "tasks[0].path[0].path[0].lock", "nest in the order");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"send": "c"}]}])"),
                  "tasks[0].path[0].send: unknown channel");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"send": "c"}]}])", R"("channels": ["c"], )"),
                  "channels[0]", "no recv segment");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"recv": "c"}]}])", R"("channels": ["c"], )"),
                  "channels[0]", "no send segment");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": 1}])", R"("channels": ["c", "c"], )"),
                  "channels[1]", "duplicate");
  // Sleeping in atomic context.
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"irqs_off": [{"sleep_us": 5}]}]}])"),
                  "tasks[0].path[0].irqs_off[0].sleep_us", "inside an irqs_off section");
  EXPECT_REJECTED(
      doc(R"([{"name": "bg", "path": [{"lock": "s", "path": [{"lock": "m", "path": [{"compute_us": 1}]}]}]}])",
          R"("locks": [{"name": "s", "type": "spinlock"}, {"name": "m", "type": "mutex"}], )"),
      "tasks[0].path[0].path[0].lock", "inside the spinlock \"s\" section");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [{"preempt_off": [{"io": "nop"}]}]}])"),
                  "preempt_off");
  // might_sleep points are fine anywhere: they show the debug check.
  EXPECT_EQ(
      error_of(doc(R"([{"name": "bg", "path": [{"irqs_off": [{"point": "might_sleep"}]}]}])")), "");
}

TEST(WorkloadParse, RejectsDeepNesting) {
  // Sections nested beyond kMaxNesting.
  std::string seg = R"({"compute_us": 1})";
  for (int i = 0; i < pb::wl::kMaxNesting + 1; ++i) seg = R"({"preempt_off": [)" + seg + "]}";
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": [)" + seg + "]}]"), "nest deeper than 8");
  // Raw JSON nested very deeply: rejected before any recursion over it.
  std::string deep(100000, '[');
  EXPECT_REJECTED(deep, "nesting deeper than");
  EXPECT_REJECTED(doc(std::string(50, '[') + std::string(50, ']')), "nesting deeper than");
  // Too many segments in one path.
  std::string many = "[";
  for (int i = 0; i < pb::wl::kMaxSegments + 1; ++i)
    many += std::string(i ? "," : "") + R"({"compute_us": 1})";
  many += "]";
  EXPECT_REJECTED(doc(R"([{"name": "bg", "path": )" + many + "}]"), "tasks[0].path",
                  "at most 256 entries");
}

TEST(WorkloadParse, RejectsGarbage) {
  EXPECT_REJECTED("", "not valid JSON");
  EXPECT_REJECTED("{", "not valid JSON");
  EXPECT_REJECTED("{\"name\": \"x\", }", "not valid JSON");
  EXPECT_REJECTED("// comment\n{}", "not valid JSON");
  EXPECT_REJECTED(std::string("{\"name\": \"\xff\xfe\"}"), "not valid JSON");
  EXPECT_REJECTED(std::string("\x00\x01\x02", 3), "not valid JSON");
  EXPECT_REJECTED("{\"a\": 1} trailing", "not valid JSON");
  EXPECT_REJECTED(doc(std::string("[") + kMeasure + "]", R"("name": "dup", )"),
                  "name: duplicate key");
  EXPECT_REJECTED(doc(R"([{"name": "bg", "user_us": 1, "user_us": 2}])"),
                  "tasks[0].user_us: duplicate key");
  // The message never carries raw bytes from the input.
  const std::string msg = error_of(std::string("{\"name\": \"\xc3\x28\"}"));
  for (unsigned char c : msg) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << msg;
  // Random bytes never crash or hang the parser.
  uint64_t s = 88172645463325252ull;
  for (int i = 0; i < 2000; ++i) {
    std::string junk;
    const int n = static_cast<int>(s % 64);
    for (int j = 0; j < n; ++j) {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      junk.push_back("{}[]\",:0123456789-.etrufalsn \\\xff"[s % 32]);
    }
    s ^= s << 13;
    (void)error_of(junk);
  }
}

TEST(WorkloadParse, RejectsTooLarge) {
  std::string big = doc(R"([{"name": "bg", "user_us": 1}])",
                        R"("description": ")" + std::string(5000, 'x') + R"(", )");
  EXPECT_REJECTED(big, "description", "at most 4096");
  EXPECT_REJECTED(std::string(2 << 20, ' '), "larger than");
}

TEST(WorkloadLoad, FilesAndNames) {
  char path[] = "/tmp/pb-workload-test-XXXXXX.json";
  const int fd = mkstemps(path, 5);
  ASSERT_GE(fd, 0);
  const std::string text = doc(std::string("[") + kMeasure + "]");
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  EXPECT_EQ(pb::wl::load_workload(path, {}).name, "t");
  unlink(path);
  try {
    (void)pb::wl::load_workload(path, {});
    ADD_FAILURE() << "loaded a missing file";
  } catch (const WorkloadError& e) {
    EXPECT_NE(std::string(e.what()).find(std::string(path) + ": cannot read: No such file"),
              std::string::npos)
        << e.what();
  }
  try {
    (void)pb::wl::load_workload("/tmp", {});
    ADD_FAILURE() << "loaded a directory";
  } catch (const WorkloadError& e) {
    EXPECT_NE(std::string(e.what()).find("/tmp: cannot read"), std::string::npos) << e.what();
  }
  try {
    (void)pb::wl::load_workload("no-such-builtin", {});
    ADD_FAILURE() << "loaded an unknown built-in";
  } catch (const WorkloadError& e) {
    EXPECT_NE(
        std::string(e.what()).find("unknown workload \"no-such-builtin\" (built-ins: kernel-path"),
        std::string::npos)
        << e.what();
  }
  try {
    (void)pb::wl::load_workload("kernel-path", {"bogus=1"});
    ADD_FAILURE() << "accepted an unknown --set key";
  } catch (const WorkloadError& e) {
    EXPECT_NE(std::string(e.what()).find("builtin:kernel-path: --set bogus=1: unknown parameter"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
