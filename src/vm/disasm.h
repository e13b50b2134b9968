// Disassembler printing the kernel's syntax (kernel/bpf/disasm.c, what the
// verifier log and `bpftool prog dump xlated` show), e.g.
//   (61) r0 = *(u32 *)(r1 +0)     (25) if r1 > 0x2 goto pc+3
//   (0c) w0 += w1                 (db) r1 = atomic64_fetch_add((u64 *)(r10 -8), r1)
//   (85) call bpf_map_lookup_elem#1
#pragma once

#include <string>

#include "vm/decoder.h"

namespace userbpf::vm {

// One instruction; `with_opcode` adds the kernel's "(xx) " prefix.
std::string disassemble_insn(const Insn &insn, bool with_opcode = true);

// The whole program, bpftool style: "   0: (b7) r0 = 0\n" per instruction
// (an LD_IMM64 takes one line and two indexes).
std::string disassemble(const DecodedProgram &program);

} // namespace userbpf::vm
