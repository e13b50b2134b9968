// Tail calls through program arrays (see tail_call.cpp for the semantics).
#pragma once

namespace userbpf {

// Drop this thread's hold on the programs its last run tail-called into.
// Whoever runs programs calls it when a run (or a batch of repetitions) ends.
void tail_call_targets_release();

} // namespace userbpf
