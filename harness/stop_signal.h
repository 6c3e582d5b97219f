// Ctrl-C, SIGTERM and SIGHUP during a long command (`run`, `validate`): the
// first one sets a flag the sweep and the running cell poll (through
// wl::RunOptions::interrupt), so the command ends the cell, writes a
// result marked partial and exits 128+signal; a second one takes the
// default action (SA_RESETHAND) and kills the process at once.
#pragma once

#include <atomic>

namespace pb::cli {

// Written only by the signal handler (lock-free atomics).
extern std::atomic<bool> g_interrupt;
extern std::atomic<int> g_signal;

void install_stop_signal_handlers();
const char* signal_name(int sig);  // "SIGINT", "SIGTERM", "SIGHUP" or "signal"

}  // namespace pb::cli
