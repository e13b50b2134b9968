// `userbpf prog ...` verbs.
#pragma once

#include <string>
#include <vector>

#include "cli_common.h"
#include "map_commands.h" // OutputMode

namespace ubcli {

// prog dump xlated file PATH: disassemble raw instructions (a binary file of
// 8-byte struct bpf_insn words, or the same bytes as hex text, e.g. the
// conformance suite's .hex files) in the kernel's syntax; also
// prog dump xlated id ID | pinned FILE: a loaded program's xlated instructions.
void prog_dump_xlated(const std::vector<std::string> &words, const OutputMode &mode, Json *out);

// prog dump jited { file PATH | id ID | pinned FILE }: the x86-64 code this
// process runs the program with, disassembled with capstone, each part under
// the BPF instruction it came from ("; N: r0 = 1"); file PATH is loaded (and
// so verified) as a socket filter first.
void prog_dump_jited(const std::vector<std::string> &words, const OutputMode &mode, Json *out);

// prog show [id ID | pinned FILE]: loaded programs, as bpftool prints them
// (no JIT yet: "not jited").
void prog_show(const std::vector<std::string> &words, const OutputMode &mode, Json *out);

// prog load FILE PATH [type TYPE] [name NAME]: load an ELF object (clang
// -target bpf, through libbpf: every program loaded, the first pinned at
// PATH, as bpftool does) or raw instructions (pinned at PATH).
void prog_load_pin(const std::vector<std::string> &words, const OutputMode &mode, Json *out);

// prog run PROG [data_in FILE | hex BYTES] [data_out FILE] [data_size_out L]
// [ctx_in FILE] [ctx_out FILE] [ctx_size_out M] [repeat N]: BPF_PROG_TEST_RUN,
// as bpftool's `prog run` (FILE "-" is stdin / stdout). Prints data_out (hex),
// ctx_out when one was asked for, the return value and the duration.
void prog_run(const std::vector<std::string> &words, const OutputMode &mode, Json *out);

// verify FILE: load raw instructions (binary 8-byte words, or hex text) with
// BPF_PROG_LOAD, so the verifier judges them, and report the verdict; an ELF
// object (clang -target bpf) is loaded with libbpf, each program on its own
// (elf_verify.h).
struct VerifyOptions {
  std::string path;
  std::string type;          // socket_filter | xdp | a number; "": socket_filter for raw
                             // instructions, the section's type for ELF programs
  bool unprivileged = false; // the loader has CAP_BPF only
  int log_level = -1;        // -1: log printed only on rejection
};
// Returns true when the verifier accepted the program. Plain output:
// "verified: N instructions processed" (and the log when --log-level was
// given), or the log on stdout and a CliError naming the file and the errno
// (the caller prints it and exits 1).
bool verify_file(const VerifyOptions &options, const OutputMode &mode, Json *out, std::string *error);

// "processed N insns" in the verifier's statistics line, or -1.
long processed_insns(const std::string &log);

} // namespace ubcli
