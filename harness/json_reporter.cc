// The "preemptbench.run/1" document (run_document.h), as run.json holds it.
#include "reporter.h"

namespace pb::harness {
namespace {

class JsonReporter final : public Reporter {
 public:
  void report(const RunDocument& doc, std::ostream& out) const override {
    out << dump_json(to_json(doc));
  }
};

}  // namespace

std::unique_ptr<Reporter> make_json_reporter() { return std::make_unique<JsonReporter>(); }

}  // namespace pb::harness
