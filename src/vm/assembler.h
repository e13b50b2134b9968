// Assembler for the bpf_conformance suite's syntax (tests/conformance/data/README.md):
//
//   mov %r0, 1          add32 %r1, %r2        lddw %r0, 0x1122334455667788
//   ldxw %r0, [%r1+4]   stb [%r10-1], 0x7f    stxdw [%r10-8], %r1
//   lock fetch add32 [%r10-4], %r1            lock cmpxchg [%r10-8], %r1
//   jeq %r1, 3, label   jne32 %r1, %r2, +2    ja label   ja32 label
//   call 5              call local func       call %r2   exit
//   neg %r0  be16 %r0  bswap64 %r0  movsx832 %r0, %r1  sdiv %r0, 3
//
// '#' starts a comment; "name:" defines a label. A jump to the undefined
// label "exit" goes to the program's first exit instruction (what the suite's
// own assembler produces); "swapN" is an alias of "bswapN".
// Mnemonics and encodings come from the ISA table (vm/isa.h).
//
// For the verifier's corpus (tests/verifier) the assembler also writes what a
// loader resolves and what no valid mnemonic can express:
//
//   lddw %r1, map:NAME          LD_IMM64 with src_reg BPF_PSEUDO_MAP_FD; imm is
//                               the fd of map NAME, filled in by the caller
//                               from the returned MapRelocation
//   lddw %r1, mapvalue:NAME+8   src_reg BPF_PSEUDO_MAP_VALUE; imm = fd of NAME
//                               (caller), the second slot's imm = 8 (the offset
//                               into the value; "+off" is optional)
//   lddw %r1, func:LABEL        src_reg BPF_PSEUDO_FUNC; imm = offset of LABEL
//                               relative to the next instruction (a callback)
//   .insn CODE, DST, SRC, OFF, IMM
//                               one raw instruction with any fields (r11,
//                               reserved bits, a lone LD_IMM64 half, ...)
//
// Helpers are called by id ("call 1"); "call local LABEL" is a bpf-to-bpf call.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "vm/isa.h"

namespace userbpf::vm {

// An LD_IMM64 that names a map: the caller stores the map's fd in
// (*out)[insn].imm before loading.
struct MapRelocation {
  size_t insn;      // index of the LD_IMM64's first slot
  std::string map;  // the name after "map:" / "mapvalue:"
};

// Returns 0, or -EINVAL with *error naming the line and the problem. Programs
// that name maps ("map:", "mapvalue:") need relocs (else -EINVAL).
int assemble(std::string_view text, std::vector<RawInsn> *out, std::string *error,
             std::vector<MapRelocation> *relocs = nullptr);

} // namespace userbpf::vm
