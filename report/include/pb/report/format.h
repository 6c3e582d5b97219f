// Numbers as the text reporters print them, for runs, reports and compare's
// table alike: one way to write a latency, a load or a rate.
#pragma once

#include <optional>
#include <string>

#include "pb/report/table.h"

namespace pb::report {

// ns as µs with one decimal: "17.0".
std::string format_us(double ns);
// `decimals` fixed decimals; "-" for a value that is not finite.
std::string format_fixed(double v, int decimals);
// A load level: "0.5", "1", "2.25", the shortest text that reads back as the
// same double; "" for none (cyclictest records have no load).
std::string format_load(double load);
std::string format_load(const std::optional<double>& load);
// ops/s: whole numbers from 100 up ("12346"), two decimals below; "n/a" when
// not finite.
std::string format_rate(double ops_per_s);
// A relative change: "+12.3%", "-4.0%", "" when nullopt.
std::string format_change(std::optional<double> pct);
// A row's percentile cell: "17.0", "≥200.0" beyond the histogram range, or
// "n/a" without a histogram.
std::string format_percentile(const Row& r, double p);

}  // namespace pb::report
