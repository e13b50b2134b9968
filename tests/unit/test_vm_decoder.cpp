// Decoder validation and the disassembler's kernel syntax.
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "vm_test_util.h"
#include "vm/assembler.h"
#include "vm/decoder.h"
#include "vm/disasm.h"

namespace {

using namespace userbpf::vm;

using ubt::I; // one raw instruction from its fields
const RawInsn kExit = I(0x95);

int decode_error(std::vector<RawInsn> prog, std::string *error) {
  DecodedProgram d;
  return decode(prog.data(), prog.size(), &d, error);
}

void expect_rejected(std::vector<RawInsn> prog, const std::string &message_part) {
  std::string error;
  EXPECT_EQ(decode_error(prog, &error), -EINVAL) << message_part;
  EXPECT_NE(error.find(message_part), std::string::npos) << "got: " << error;
}

TEST(VmDecoder, RejectsBadPrograms) {
  expect_rejected({}, "empty program");
  expect_rejected({I(0xff), kExit}, "insn 0: unknown opcode 0xff");
  expect_rejected({I(0xb7, 0, 0, 0, 1), I(0x8f), kExit}, "insn 1: unknown opcode 0x8f");
  // Reserved fields.
  expect_rejected({I(0x07, 0, 1, 0, 1), kExit}, "insn 0: ADD64_IMM (0x07) uses reserved field src_reg");
  expect_rejected({I(0x0f, 0, 1, 0, 1), kExit}, "uses reserved field imm");
  expect_rejected({I(0x0f, 0, 1, 3, 0), kExit}, "insn 0: opcode 0x0f uses reserved fields");
  expect_rejected({I(0x95, 0, 0, 0, 1)}, "EXIT (0x95) uses reserved field imm");
  expect_rejected({I(0xd4, 0, 0, 0, 8), kExit}, "opcode 0xd4 uses reserved fields");
  expect_rejected({I(0xdb, 10, 1, -8, 0x02), kExit}, "opcode 0xdb uses reserved fields");
  expect_rejected({I(0xbf, 0, 1, 4), kExit}, "opcode 0xbf uses reserved fields"); // movsx of 4 bits
  expect_rejected({I(0xbc, 0, 1, 32), kExit}, "opcode 0xbc uses reserved fields"); // no 32-bit movsx32
  expect_rejected({I(0xb7, 11, 0, 0, 1), kExit}, "insn 0: R11 is invalid");
  // Jumps.
  expect_rejected({I(0x05, 0, 0, 5), kExit}, "insn 0: jump out of range from insn 0 to 6");
  expect_rejected({I(0x05, 0, 0, -2), kExit}, "jump out of range from insn 0 to -1");
  expect_rejected({I(0x05, 0, 0, 1), I(0x18, 0, 0, 0, 1), I(0, 0, 0, 0, 0), kExit},
                  "insn 0: jump into the middle of ldimm64 insn 1");
  expect_rejected({I(0x85, 0, 1, 0, 7), kExit}, "jump out of range");
  // LD_IMM64.
  expect_rejected({I(0x18, 0, 0, 0, 1)}, "insn 0: invalid bpf_ld_imm64 insn (truncated");
  expect_rejected({I(0x18, 0, 0, 0, 1), I(0x18, 0, 0, 0, 1), kExit}, "invalid bpf_ld_imm64 insn");
  expect_rejected({I(0x18, 1, 1, 0, 3), I(0, 0, 0, 0, 4), kExit}, "unrecognized bpf_ld_imm64 insn");
  expect_rejected({I(0x18, 1, 7, 0, 3), I(0, 0, 0, 0, 0), kExit}, "unrecognized bpf_ld_imm64 insn (src_reg 7)");
  // Falling off the end.
  expect_rejected({I(0xb7, 0, 0, 0, 1)}, "insn 0: last insn is not an exit or jmp");
  expect_rejected({I(0x15, 0, 0, -1, 1)}, "last insn is not an exit or jmp");
  // Too large.
  std::vector<RawInsn> big(kMaxInsns + 1, kExit);
  std::string error;
  EXPECT_EQ(decode_error(big, &error), -E2BIG);
  // Not a multiple of 8 bytes.
  DecodedProgram d;
  uint8_t bytes[12] = {0x95};
  EXPECT_EQ(decode_bytes(bytes, sizeof bytes, &d, &error), -EINVAL);
}

TEST(VmDecoder, KeepsPseudoSourcesForTheLoader) {
  std::vector<RawInsn> prog = {I(0x18, 1, 1, 0, 7), I(0, 0, 0, 0, 0), I(0x18, 2, 2, 0, 7), I(0, 0, 0, 0, 16),
                               I(0x18, 3, 4, 0, 1), I(0, 0, 0, 0, 0), kExit};
  DecodedProgram d;
  std::string error;
  ASSERT_EQ(decode(prog.data(), prog.size(), &d, &error), 0) << error;
  EXPECT_EQ(d.insns[0].pseudo, Pseudo::kMapFd);
  EXPECT_EQ(d.insns[0].imm, 7);
  EXPECT_EQ(d.insns[2].pseudo, Pseudo::kMapValue);
  EXPECT_EQ(d.insns[2].imm_hi, 16);
  EXPECT_EQ(d.insns[4].pseudo, Pseudo::kFunc);
  EXPECT_TRUE(d.insns[1].ld_imm64_tail);
  EXPECT_EQ(disassemble_insn(d.insns[0]), "(18) r1 = map[fd:7]");
  EXPECT_EQ(disassemble_insn(d.insns[2]), "(18) r2 = map[fd:7][0]+16");
}

// Expected strings: what `bpftool prog dump xlated` printed for the same
// instructions loaded into this machine's kernel (6.1), and for the v4 forms
// its bpftool predates, the kernel's current kernel/bpf/disasm.c formats.
TEST(VmDisasm, KernelSyntax) {
  struct Case {
    RawInsn insn;
    const char *text;
  } cases[] = {
      {I(0xb7, 0, 0, 0, 0), "(b7) r0 = 0"},
      {I(0x7b, 10, 1, -8), "(7b) *(u64 *)(r10 -8) = r1"},
      {I(0x62, 10, 0, -12, 7), "(62) *(u32 *)(r10 -12) = 7"},
      {I(0x7a, 10, 0, -24, -3), "(7a) *(u64 *)(r10 -24) = -3"},
      {I(0x61, 3, 10, -16), "(61) r3 = *(u32 *)(r10 -16)"},
      {I(0x61, 0, 1, 0), "(61) r0 = *(u32 *)(r1 +0)"},
      {I(0x07, 2, 0, 0, -1), "(07) r2 += -1"},
      {I(0x04, 3, 0, 0, 3), "(04) w3 += 3"},
      {I(0x0c, 3, 2), "(0c) w3 += w2"},
      {I(0xc7, 2, 0, 0, 3), "(c7) r2 s>>= 3"},
      {I(0xcc, 3, 2), "(cc) w3 s>>= w2"},
      {I(0x87, 2), "(87) r2 = -r2"},
      {I(0x84, 3), "(84) w3 = -w3"},
      {I(0xdc, 2, 0, 0, 16), "(dc) r2 = be16 r2"},
      {I(0xd4, 2, 0, 0, 32), "(d4) r2 = le32 r2"},
      {I(0xdb, 10, 1, -8, 0x00), "(db) lock *(u64 *)(r10 -8) += r1"},
      {I(0xc3, 10, 1, -16, 0x40), "(c3) lock *(u32 *)(r10 -16) |= r1"},
      {I(0xdb, 10, 1, -8, 0x01), "(db) r1 = atomic64_fetch_add((u64 *)(r10 -8), r1)"},
      {I(0xc3, 10, 1, -16, 0x01), "(c3) r1 = atomic_fetch_add((u32 *)(r10 -16), r1)"},
      {I(0xdb, 10, 1, -8, 0xe1), "(db) r1 = atomic64_xchg((u64 *)(r10 -8), r1)"},
      {I(0xc3, 10, 1, -16, 0xf1), "(c3) r0 = atomic_cmpxchg((u32 *)(r10 -16), r0, r1)"},
      {I(0x25, 2, 0, 1, 2), "(25) if r2 > 0x2 goto pc+1"},
      {I(0x16, 3, 0, 1, -1), "(16) if w3 == 0xffffffff goto pc+1"},
      {I(0xae, 3, 2, 0), "(ae) if w3 < w2 goto pc+0"},
      {I(0x65, 2, 0, 0, -5), "(65) if r2 s> 0xfffffffb goto pc+0"},
      {I(0x85, 0, 0, 0, 1), "(85) call bpf_map_lookup_elem#1"},
      {I(0x85, 0, 0, 0, 5), "(85) call bpf_ktime_get_ns#5"},
      {I(0x85, 0, 0, 0, 9999), "(85) call unknown#9999"},
      {I(0x95), "(95) exit"},
      // v4 (kernel/bpf/disasm.c since 6.6)
      {I(0xd7, 2, 0, 0, 16), "(d7) r2 = bswap16 r2"},
      {I(0xbf, 7, 2, 8), "(bf) r7 = (s8)r2"},
      {I(0xbc, 7, 2, 16), "(bc) w7 = (s16)w2"},
      {I(0x3f, 2, 3, 1), "(3f) r2 s/= r3"},
      {I(0x94, 2, 0, 1, 3), "(94) w2 s%= 3"},
      {I(0x91, 8, 10, -16), "(91) r8 = *(s8 *)(r10 -16)"},
  };
  for (const Case &c : cases) {
    std::vector<RawInsn> prog = {c.insn, kExit};
    DecodedProgram d;
    std::string error;
    // Jumps of +1 need a target: pad.
    prog.insert(prog.end(), {kExit, kExit});
    ASSERT_EQ(decode(prog.data(), prog.size(), &d, &error), 0) << c.text << ": " << error;
    EXPECT_EQ(disassemble_insn(d.insns[0]), c.text);
  }
}

TEST(VmAssembler, ErrorsNameTheLine) {
  std::vector<RawInsn> out;
  std::string error;
  EXPECT_EQ(assemble("mov %r0, 1\nfrob %r0\nexit\n", &out, &error), -EINVAL);
  EXPECT_EQ(error, "line 2: unknown mnemonic 'frob'");
  EXPECT_EQ(assemble("ja nowhere\nexit\n", &out, &error), -EINVAL);
  EXPECT_EQ(error, "line 1: undefined label 'nowhere'");
  EXPECT_EQ(assemble("ldxw %r0, %r1\nexit\n", &out, &error), -EINVAL);
  EXPECT_EQ(assemble("mov %r11, 1\nexit\n", &out, &error), -EINVAL);
  EXPECT_EQ(assemble("mov %r0, 0x100000000\nexit\n", &out, &error), -EINVAL);
  ASSERT_EQ(assemble("l: mov %r0, -1 # comment\n  jne %r0, 0, l\nexit\n", &out, &error), 0) << error;
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].off, -2);
}

} // namespace

namespace {

// The table itself: every row is reachable (no two rows claim the same
// encoding), decodes back to itself, and disassembles.
TEST(VmIsa, EveryRowDecodesToItself) {
  for (size_t i = 0; i < kNumOps; i++) {
    const OpInfo &info = kOps[i];
    EXPECT_EQ(static_cast<size_t>(info.op), i) << info.name;
    EXPECT_GE(info.isa_version, 1) << info.name;
    EXPECT_LE(info.isa_version, 4) << info.name;
    RawInsn r = I(info.opcode);
    switch (info.match) {
    case Match::kNone: break;
    case Match::kOff: r.off = static_cast<int16_t>(info.match_value); break;
    case Match::kImm: r.imm = info.match_value; break;
    case Match::kSrc: r.src = static_cast<uint8_t>(info.match_value); break;
    }
    if (info.shape == Shape::kCall) r.imm = 5; // a helper that exists
    const OpInfo *found = find_op(r);
    ASSERT_NE(found, nullptr) << info.name;
    EXPECT_EQ(found->op, info.op) << info.name << " is shadowed by " << found->name;
    std::vector<RawInsn> prog = {r, info.shape == Shape::kLdImm64 ? I(0) : kExit, kExit};
    DecodedProgram d;
    std::string error;
    ASSERT_EQ(decode(prog.data(), prog.size(), &d, &error), 0) << info.name << ": " << error;
    EXPECT_FALSE(disassemble_insn(d.insns[0]).empty());
  }
}

} // namespace
