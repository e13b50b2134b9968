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
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vm/isa.h"

namespace userbpf::vm {

// Returns 0, or -EINVAL with *error naming the line and the problem.
int assemble(std::string_view text, std::vector<RawInsn> *out, std::string *error);

} // namespace userbpf::vm
