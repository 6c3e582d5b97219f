#include "pb/workloads/program.h"

#include <algorithm>

namespace pb::wl::detail {
namespace {

constexpr int64_t kNsPerUs = 1000;

int index_of(const std::vector<std::string>& names, const std::string& n) {
  auto it = std::find(names.begin(), names.end(), n);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

void emit(const std::vector<Segment>& path, const Workload& w, int depth, Program& p) {
  p.max_open = std::max(p.max_open, depth);
  for (const Segment& s : path) {
    Instr in;
    switch (s.kind) {
      case SegmentKind::kCompute:
        in.op = Op::kCompute;
        in.ns = s.us * kNsPerUs;
        in.cond_resched_ns = s.cond_resched_us * kNsPerUs;
        in.might_sleep_ns = s.might_sleep_us * kNsPerUs;
        p.compute_ns += in.ns;
        p.code.push_back(in);
        break;
      case SegmentKind::kPoint:
        in.op = s.point == PointKind::kCondResched  ? Op::kCondResched
                : s.point == PointKind::kMightSleep ? Op::kMightSleep
                                                    : Op::kMightResched;
        p.code.push_back(in);
        break;
      case SegmentKind::kSleep:
        in.op = Op::kSleep;
        in.ns = s.us * kNsPerUs;
        p.code.push_back(in);
        break;
      case SegmentKind::kSend:
      case SegmentKind::kRecv:
        in.op = s.kind == SegmentKind::kSend ? Op::kSend : Op::kRecv;
        in.index = index_of(w.channels, s.target);
        in.count = s.count;
        p.code.push_back(in);
        break;
      case SegmentKind::kIo:
        in.op = Op::kIo;
        in.io = s.io;
        in.bytes = s.bytes;
        p.has_io = true;
        p.max_io_bytes = std::max(p.max_io_bytes, s.bytes);
        p.code.push_back(in);
        break;
      case SegmentKind::kLock: {
        in.op = Op::kLock;
        for (size_t i = 0; i < w.locks.size(); ++i) {
          if (w.locks[i].name == s.target) {
            in.index = static_cast<int>(i);
            in.kind = w.locks[i].kind;
          }
        }
        in.irqsave = s.irqsave;
        p.code.push_back(in);
        emit(s.path, w, depth + 1, p);
        in.op = Op::kUnlock;
        p.code.push_back(in);
        break;
      }
      case SegmentKind::kPreemptOff:
      case SegmentKind::kIrqsOff:
      case SegmentKind::kBhOff: {
        const bool pre = s.kind == SegmentKind::kPreemptOff;
        const bool irq = s.kind == SegmentKind::kIrqsOff;
        in.op = pre ? Op::kPreemptOff : irq ? Op::kIrqSave : Op::kBhOff;
        p.code.push_back(in);
        emit(s.path, w, depth + 1, p);
        in.op = pre ? Op::kPreemptOn : irq ? Op::kIrqRestore : Op::kBhOn;
        p.code.push_back(in);
        break;
      }
    }
  }
}

}  // namespace

Program compile(const std::vector<Segment>& path, const Workload& w) {
  Program p;
  emit(path, w, 0, p);
  return p;
}

}  // namespace pb::wl::detail
