// Decoder: raw 8-byte instructions -> validated, pre-decoded instructions.
//
// It checks what the encoding alone can tell (the kernel checks the same at
// load, before the verifier's data-flow analysis): every opcode is known,
// reserved fields are zero, registers exist, jumps land on an instruction
// inside the program and not on the second half of an LD_IMM64, LD_IMM64 is
// complete, the last instruction cannot fall off the end. LD_IMM64 pseudo
// sources (map fd, map value, func, ...) are kept for the loader to resolve.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vm/isa.h"

namespace userbpf::vm {

struct Insn {
  Op op = Op::EXIT;
  uint8_t opcode = 0;
  uint8_t dst = 0;
  uint8_t src = 0;
  bool ld_imm64_tail = false; // the second slot of an LD_IMM64 (never executed)
  int16_t off = 0;
  int32_t imm = 0;
  // LD_IMM64 only: the pseudo source, and the 64-bit value. For kNone the
  // constant; for the others the loader writes the resolved value here.
  Pseudo pseudo = Pseudo::kNone;
  int32_t imm_hi = 0;  // the second slot's imm, as written
  uint64_t imm64 = 0;

  const OpInfo &info() const { return op_info(op); }
  // Target slot of a jump, local call or LD_IMM64 of a function from slot `pc`.
  int64_t jump_target(size_t pc) const;
};

// The fields the kernel reserves in LD_ABS / LD_IND (check_ld_abs) are zero:
// dst is r0, off 0, and src 0 for LD_ABS. The decoder leaves them to the
// verifier, which checks them after the program type as the kernel does.
inline bool ld_packet_fields_ok(const Insn &insn) {
  return insn.dst == 0 && insn.off == 0 && (insn.info().shape != Shape::kLdAbs || insn.src == 0);
}

struct DecodedProgram {
  std::vector<Insn> insns; // one per 8-byte slot
};

// Decode `count` raw instructions. Returns 0, or -EINVAL (-E2BIG for more than
// kMaxInsns) with *error naming the instruction and the reason, as
// "insn 3: unknown opcode 0x8f".
int decode(const RawInsn *raw, size_t count, DecodedProgram *out, std::string *error);
// The same from bytes (a length not a multiple of 8 is EINVAL).
int decode_bytes(const uint8_t *bytes, size_t len, DecodedProgram *out, std::string *error);

} // namespace userbpf::vm
