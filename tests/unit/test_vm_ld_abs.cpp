// The legacy packet loads (LD_ABS / LD_IND) in the VM itself: the ISA rows
// through the assembler and disassembler, and the same runs in the
// interpreter (budgeted and not) and the JIT (plain and blinded) over a
// socket-buffer context built here: values in network order, the special
// offset ranges, and a load outside the packet ending the current function
// with r0 = 0 (the program, or a callee, which returns to its caller).
// Run-time semantics against the kernel: tests/diff/diff_ld_abs_run.cpp.
#include <gtest/gtest.h>

#include <linux/bpf.h>
#include <linux/filter.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "helpers/context.h"
#include "helpers/skb_load.h"
#include "vm/assembler.h"
#include "vm/decoder.h"
#include "vm/disasm.h"
#include "vm/interpreter.h"
#include "vm/jit_x86_64.h"
#include "vm_test_util.h"

namespace {

using namespace userbpf;
using namespace userbpf::vm;
using ubt::I;

// A socket filter's context: __sk_buff, then the packet pointers at their
// aligned offset; the frame's Ethernet header is in front of the data.
struct SkbCtx {
  __sk_buff uapi;
  CtxPacketPointers ptrs;
};
static_assert(offsetof(SkbCtx, ptrs) == ctx_packet_pointers_offset(sizeof(__sk_buff)));

struct Packet {
  std::vector<uint8_t> frame;
  SkbCtx ctx{};
  // data_offset: where the program's data starts in the frame (14: a socket
  // filter, from the network header; 0: tc).
  Packet(size_t size, size_t data_offset) : frame(size) {
    for (size_t i = 0; i < size; i++) frame[i] = static_cast<uint8_t>(i * 3 + 1);
    ctx.ptrs.mac_header = reinterpret_cast<uintptr_t>(frame.data());
    ctx.ptrs.data = ctx.ptrs.mac_header + data_offset;
    ctx.ptrs.data_end = ctx.ptrs.mac_header + size;
  }
  uint64_t r1() { return reinterpret_cast<uintptr_t>(&ctx); }
  uint32_t be(size_t at, int size) const { // the frame's bytes at `at`, network order
    uint32_t v = 0;
    for (int i = 0; i < size; i++) v = v << 8 | frame[at + static_cast<size_t>(i)];
    return v;
  }
};

struct Engines {
  std::vector<std::unique_ptr<Program>> progs;
  std::vector<std::string> names;
};

Engines build(const std::vector<RawInsn> &raw) {
  DecodedProgram decoded;
  std::string error;
  EXPECT_EQ(decode(raw.data(), raw.size(), &decoded, &error), 0) << error;
  Engines e;
  auto add = [&](Engine engine, bool blind, const char *name) {
    ProgramOptions options;
    options.engine = engine;
    options.jit.blind_constants = blind;
    std::unique_ptr<Program> prog;
    ASSERT_EQ(Program::create(decoded, &prog, &error, options), 0) << name << ": " << error;
    e.progs.push_back(std::move(prog));
    e.names.push_back(name);
  };
  add(Engine::kInterpreter, false, "interpreter");
  if (jit_supported()) {
    add(Engine::kJit, false, "JIT");
    add(Engine::kJit, true, "JIT blinded");
  }
  return e;
}

// r0 of the program in every engine (the interpreter also with a budget);
// they must all agree.
uint64_t run_all(const std::vector<RawInsn> &raw, Packet &p) {
  Engines e = build(raw);
  if (e.progs.empty()) return ~0ull;
  const RunResult first = e.progs[0]->run(p.r1());
  EXPECT_EQ(first.err, 0) << first.error;
  const RunResult budgeted = e.progs[0]->run(p.r1(), 0, 10000);
  EXPECT_EQ(budgeted.err, 0) << budgeted.error;
  EXPECT_EQ(budgeted.r0, first.r0) << "budgeted interpreter";
  for (size_t i = 1; i < e.progs.size(); i++) {
    const RunResult r = e.progs[i]->run(p.r1());
    EXPECT_EQ(r.err, 0) << e.names[i] << ": " << r.error;
    EXPECT_EQ(r.r0, first.r0) << e.names[i];
  }
  return first.r0;
}

constexpr RawInsn kExit = {0x95, 0, 0, 0, 0};
RawInsn ld_abs(int size, int32_t imm) { return I(static_cast<uint8_t>(BPF_LD | BPF_ABS | size), 0, 0, 0, imm); }
RawInsn ld_ind(int size, uint8_t src, int32_t imm) {
  return I(static_cast<uint8_t>(BPF_LD | BPF_IND | size), 0, src, 0, imm);
}
const RawInsn kR6IsCtx = I(0xbf, 6, 1);   // r6 = r1
const RawInsn kR0Is7 = I(0xb7, 0, 0, 0, 7); // r0 = 7

TEST(VmLdAbs, AssemblerAndDisassembler) {
  std::vector<RawInsn> raw;
  std::string error;
  ASSERT_EQ(assemble("ldabsw 12\nldabsh -2097152\nldabsb 0\nldindw %r7, 12\nldindh %r2, -3\nldindb %r9, 0\nexit\n",
                     &raw, &error),
            0)
      << error;
  ASSERT_EQ(raw.size(), 7u);
  EXPECT_EQ(raw[0].code, 0x20);
  EXPECT_EQ(raw[1].code, 0x28);
  EXPECT_EQ(raw[1].imm, SKF_LL_OFF);
  EXPECT_EQ(raw[3].code, 0x40);
  EXPECT_EQ(raw[3].src, 7);
  DecodedProgram d;
  ASSERT_EQ(decode(raw.data(), raw.size(), &d, &error), 0) << error;
  // The kernel's disassembler (kernel/bpf/disasm.c) prints these forms.
  EXPECT_EQ(disassemble_insn(d.insns[0]), "(20) r0 = *(u32 *)skb[12]");
  EXPECT_EQ(disassemble_insn(d.insns[1]), "(28) r0 = *(u16 *)skb[-2097152]");
  EXPECT_EQ(disassemble_insn(d.insns[2]), "(30) r0 = *(u8 *)skb[0]");
  EXPECT_EQ(disassemble_insn(d.insns[3]), "(40) r0 = *(u32 *)skb[r7 + 12]");
  EXPECT_EQ(disassemble_insn(d.insns[4]), "(48) r0 = *(u16 *)skb[r2 + -3]");
  EXPECT_EQ(disassemble_insn(d.insns[5]), "(50) r0 = *(u8 *)skb[r9 + 0]");
  // No double-word form: an unknown opcode, as in the kernel.
  const RawInsn dw[] = {ld_abs(BPF_DW, 0), kExit};
  EXPECT_EQ(decode(dw, 2, &d, &error), -EINVAL);
  EXPECT_NE(error.find("unknown opcode 0x38"), std::string::npos) << error;
}

TEST(VmLdAbs, ReservedFieldsAreRefusedToRun) {
  // The decoder leaves them to the verifier (which names the program type
  // first, as the kernel); Program::create and the JIT refuse to run them.
  const std::vector<std::vector<RawInsn>> bad = {
      {kR6IsCtx, I(0x20, 1, 0, 0, 0), kExit},  // dst r1
      {kR6IsCtx, I(0x20, 0, 0, 4, 0), kExit},  // off 4
      {kR6IsCtx, I(0x30, 0, 2, 0, 0), kExit},  // LD_ABS with a src
      {kR6IsCtx, I(0x40, 3, 2, 0, 0), kExit},  // LD_IND with dst r3
  };
  for (const auto &raw : bad) {
    DecodedProgram d;
    std::string error;
    ASSERT_EQ(decode(raw.data(), raw.size(), &d, &error), 0) << error;
    for (Engine engine : {Engine::kInterpreter, Engine::kJit}) {
      if (engine == Engine::kJit && !jit_supported()) continue;
      ProgramOptions options;
      options.engine = engine;
      std::unique_ptr<Program> prog;
      EXPECT_EQ(Program::create(d, &prog, &error, options), -EINVAL);
      EXPECT_NE(error.find("BPF_LD_[ABS|IND] uses reserved fields"), std::string::npos) << error;
    }
    std::unique_ptr<JitImage> image;
    if (jit_supported()) {
      EXPECT_EQ(JitImage::compile(d, JitOptions{}, &image, &error), -EINVAL);
    }
  }
}

TEST(VmLdAbs, ValuesInNetworkOrder) {
  Packet p(64, 14);
  for (int size : {BPF_B, BPF_H, BPF_W}) {
    const int bytes = size == BPF_B ? 1 : size == BPF_H ? 2 : 4;
    for (int32_t at : {0, 1, 7, 50 - bytes}) {
      SCOPED_TRACE("size " + std::to_string(bytes) + " at " + std::to_string(at));
      EXPECT_EQ(run_all({kR6IsCtx, ld_abs(size, at), kExit}, p), p.be(14 + static_cast<size_t>(at), bytes));
      // LD_IND: r7 + imm, imm negative too.
      EXPECT_EQ(run_all({kR6IsCtx, I(0xb7, 7, 0, 0, at + 5), ld_ind(size, 7, -5), kExit}, p),
                p.be(14 + static_cast<size_t>(at), bytes));
    }
  }
}

TEST(VmLdAbs, SpecialOffsetRanges) {
  Packet p(64, 14); // a socket filter: data is the network header
  EXPECT_EQ(run_all({kR6IsCtx, ld_abs(BPF_H, SKF_LL_OFF + 12), kExit}, p), p.be(12, 2)); // the ethertype
  EXPECT_EQ(run_all({kR6IsCtx, ld_abs(BPF_W, SKF_NET_OFF + 4), kExit}, p), p.be(18, 4));
  EXPECT_EQ(run_all({kR6IsCtx, ld_abs(BPF_B, SKF_LL_OFF + 63), kExit}, p), p.be(63, 1)); // the last byte
  Packet tc(64, 0); // tc: data is the Ethernet header, the network header 14 bytes in
  EXPECT_EQ(run_all({kR6IsCtx, ld_abs(BPF_W, SKF_NET_OFF), kExit}, tc), tc.be(14, 4));
  EXPECT_EQ(run_all({kR6IsCtx, ld_abs(BPF_W, SKF_LL_OFF), kExit}, tc), tc.be(0, 4));
  // A context with no Ethernet header known: the negative ranges fail.
  Packet none(64, 0);
  none.ctx.ptrs.mac_header = 0;
  EXPECT_EQ(helpers::skb_ld_abs(none.r1(), SKF_NET_OFF, 1), -EFAULT);
  EXPECT_EQ(helpers::skb_ld_abs(none.r1(), 0, 1), none.be(0, 1));
}

TEST(VmLdAbs, OutOfThePacketReturnsZeroAtOnce) {
  Packet p(30, 14); // 16 bytes of data
  for (int32_t at : {15, 16, 1000, -1, -14, SKF_NET_OFF - 1, SKF_LL_OFF - 1, INT32_MIN, INT32_MAX}) {
    SCOPED_TRACE(at);
    // r0 = 7 after the load would show that the program went on.
    EXPECT_EQ(run_all({kR6IsCtx, ld_abs(BPF_H, at), kR0Is7, kExit}, p), 0u);
  }
  EXPECT_EQ(run_all({kR6IsCtx, ld_abs(BPF_B, 15), kR0Is7, kExit}, p), 7u); // the last byte is in
  // LD_IND: the offset is the 32-bit (int) sum, as the kernel passes it.
  EXPECT_EQ(run_all({kR6IsCtx, I(0x18, 7, 0, 0, 3), I(0, 0, 0, 0, 1), ld_ind(BPF_B, 7, 0), kExit}, p), p.be(17, 1));
  EXPECT_EQ(run_all({kR6IsCtx, I(0xb7, 7, 0, 0, -1), ld_ind(BPF_B, 7, 0), kR0Is7, kExit}, p), 0u);
}

TEST(VmLdAbs, InACalleeTheEarlyReturnGoesToTheCaller) {
  Packet p(30, 14);
  // main: r9 = 100; r0 = f(); r0 += r9; exit. f: r6 = r1 (its own), load, r0 = 5, exit.
  // In bounds: 105; out of bounds the callee returns 0 to main: 100 (not 0:
  // the program goes on).
  auto prog = [](int32_t at) {
    return std::vector<RawInsn>{I(0xb7, 9, 0, 0, 100), I(0x85, 0, 1, 0, 2), I(0x0f, 0, 9), kExit,
                                kR6IsCtx,              ld_abs(BPF_B, at),   I(0xb7, 0, 0, 0, 5), kExit};
  };
  EXPECT_EQ(run_all(prog(3), p), 105u);
  EXPECT_EQ(run_all(prog(16), p), 100u);
  EXPECT_EQ(run_all(prog(-5), p), 100u);
}

} // namespace
