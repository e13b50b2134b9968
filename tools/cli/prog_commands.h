// `userbpf prog ...` verbs.
#pragma once

#include <string>
#include <vector>

#include "cli_common.h"
#include "map_commands.h" // OutputMode

namespace ubcli {

// prog dump xlated file PATH: disassemble raw instructions (a binary file of
// 8-byte struct bpf_insn words, or the same bytes as hex text, e.g. the
// conformance suite's .hex files) in the kernel's syntax. Loaded programs
// (id ID | pinned FILE, as bpftool) come with BPF_PROG_LOAD.
void prog_dump_xlated(const std::vector<std::string> &words, const OutputMode &mode, Json *out);

} // namespace ubcli
