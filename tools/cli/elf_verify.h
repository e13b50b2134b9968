// `userbpf verify FILE` for ELF objects (clang -target bpf output), loaded
// with libbpf; every BPF command goes to userbpf (libuserbpf's syscall(),
// src/syscall/syscall_interposer.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli_common.h"
#include "map_commands.h" // OutputMode
#include "prog_commands.h" // VerifyOptions

namespace ubcli {

// True when the file starts with the ELF magic (it is then verified as an
// object, not as raw instructions).
bool is_elf_file(const std::string &path);

// Loads each program of the object on its own (the others' autoload off), so
// every program gets its own verdict and log. `type` (given with --type)
// replaces the program type libbpf derives from the section name; `level` is
// the log level (at least 1). Maps are created for the load but never pinned
// (pin-by-name settings are ignored), so verifying leaves nothing behind.
//
// Plain output, per program:
//   NAME (SECTION): verified, N instructions processed
//   NAME (SECTION): rejected (ERRNO): <the verifier's last line>
// followed by the verifier's log when rejected or when log_shown; libbpf's
// warnings for a rejected program go to stderr. Returns true when every
// program was accepted; otherwise *error says how many were rejected and,
// for each, its section, the instruction the verifier stopped at and why.
// Throws CliError when libbpf cannot open the object (its messages included).
// The opening and loading run in a child process: libbpf 1.1 can crash on a
// corrupt file, and that must end in an error message, not a crash.
bool verify_elf(const VerifyOptions &options, std::optional<uint32_t> type, uint32_t level, bool log_shown,
                const OutputMode &mode, Json *out, std::string *error);

// `prog load OBJ PATH` for an ELF object, as bpftool: libbpf loads every
// program of the object (`type` replaces the types libbpf derives from the
// section names), and the first is pinned at PATH; its maps live on through
// it. Throws CliError with libbpf's messages (the verifier's log among them)
// when the object cannot be opened or loaded, headed by the failing program,
// its section, the instruction the verifier stopped at and the reason. Runs in a child process, as
// verify_elf.
void load_elf_and_pin(const std::string &path, const std::string &pin, std::optional<uint32_t> type);

// For a verifier log: its last instruction line ("1: (71) r1 = ..."), the
// one the verifier stopped at (empty when there is none), and the reason
// (its last line before the statistics).
std::string failing_instruction(const std::string &log);
std::string verifier_reason(const std::string &log);

// " at insn N `(op) ...`" for a rejected program's log, and the same with
// ": <reason>" after it; both empty when the log names no instruction.
std::string failing_place(const std::string &log);
std::string where_and_why(const std::string &log);

} // namespace ubcli
