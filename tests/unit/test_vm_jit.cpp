// The x86-64 JIT (src/vm/jit_x86_64.cpp) against the interpreter: the same
// program must give the same r0, memory and errors in both engines. The
// exhaustive tests go through every (dst, src) register pair for the forms
// whose x86 code depends on the registers (rax/rdx for division, rcx for
// shifts, rax for cmpxchg loops), with operands chosen at the edges (0, -1,
// INT_MIN). Plus: calls (helpers, bpf-to-bpf, callx), the call depth error,
// constant blinding, W^X and freeing of the code, the engine switch of the
// program layer (userbpf.hpp, USERBPF_JIT), and tail calls through program
// arrays between JIT code, and between JIT code and the interpreter.
#include <gtest/gtest.h>

#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <userbpf/userbpf.hpp>

#include "alloc/rcu.h"
#include "maps/map.h"
#include "bpf_test_util.h"
#include "cpu_test_util.h"
#include "object/handle.h"
#include "prog/program.h"
#include "prog/tail_call.h"
#include "vm/assembler.h"
#include "vm/decoder.h"
#include "vm/interpreter.h"
#include "vm/jit_x86_64.h"
#include "vm_test_util.h"

namespace {

using namespace userbpf::vm;
using ubt::I;

#define SKIP_WITHOUT_JIT()                                                                                           \
  if (!jit_supported()) GTEST_SKIP() << "no JIT for this CPU"

std::unique_ptr<Program> create(const std::vector<RawInsn> &raw, Engine engine, bool blind = false,
                                std::string *error_out = nullptr, bool near_helpers = true) {
  DecodedProgram decoded;
  std::string error;
  EXPECT_EQ(decode(raw.data(), raw.size(), &decoded, &error), 0) << error;
  ProgramOptions options;
  options.engine = engine;
  options.jit.blind_constants = blind;
  options.jit.near_helpers = near_helpers;
  std::unique_ptr<Program> prog;
  int err = Program::create(decoded, &prog, &error, options);
  if (error_out) *error_out = error;
  EXPECT_EQ(err, 0) << error;
  if (engine == Engine::kJit && prog) {
    EXPECT_NE(prog->jit(), nullptr);
  }
  return prog;
}

std::vector<RawInsn> assembled(const std::string &text) {
  std::vector<RawInsn> raw;
  std::string error;
  EXPECT_EQ(assemble(text, &raw, &error), 0) << error;
  return raw;
}

RawInsn lo(uint8_t r, uint64_t v) { return I(0x18, r, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(v))); }
RawInsn hi(uint64_t v) { return I(0, 0, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(v >> 32))); }

// r0..r9 set to `values`, the instruction(s) under test, then every register
// folded into r0 (a difference in any register shows).
std::vector<RawInsn> with_registers(const uint64_t (&values)[10], const std::vector<RawInsn> &body) {
  std::vector<RawInsn> p;
  for (uint8_t r = 0; r <= 9; r++) {
    p.push_back(lo(r, values[r]));
    p.push_back(hi(values[r]));
  }
  p.insert(p.end(), body.begin(), body.end());
  // r10 is read-only: stash r0 in the stack, fold r1..r9 into it.
  p.push_back(I(0x7b, 10, 0, -8));
  for (uint8_t r = 1; r <= 9; r++) {
    p.push_back(I(0x27, 0, 0, 0, 31));
    p.push_back(I(0xaf, 0, r));
  }
  p.push_back(I(0x79, 1, 10, -8));
  p.push_back(I(0x27, 0, 0, 0, 1000003));
  p.push_back(I(0xaf, 0, 1));
  p.push_back(I(0x95));
  return p;
}

// Runs `raw` in both engines (the JIT also blinded) on copies of `memory`;
// both r0 and memory must match.
void expect_same(const std::vector<RawInsn> &raw, const std::string &what, std::vector<uint8_t> memory = {}) {
  auto interp = create(raw, Engine::kInterpreter);
  ASSERT_TRUE(interp) << what;
  std::vector<uint8_t> mem_i = memory;
  RunResult ri = interp->run(reinterpret_cast<uintptr_t>(mem_i.data()), mem_i.size());
  for (bool blind : {false, true}) {
    auto jit = create(raw, Engine::kJit, blind);
    ASSERT_TRUE(jit) << what;
    std::vector<uint8_t> mem_j = memory;
    RunResult rj = jit->run(reinterpret_cast<uintptr_t>(mem_j.data()), mem_j.size());
    ASSERT_EQ(rj.err, ri.err) << what << (blind ? " (blinded)" : "") << ": " << rj.error << " / " << ri.error;
    ASSERT_EQ(rj.r0, ri.r0) << what << (blind ? " (blinded)" : "");
    ASSERT_EQ(mem_j, mem_i) << what << (blind ? " (blinded)" : "");
    if (ri.err) {
      EXPECT_EQ(rj.error, ri.error);
    }
  }
}

const uint64_t kValueSets[][10] = {
    {0x123456789abcdef0ull, 7, 0, 3, 65, 0xffffffffffffffffull, 0x8000000000000000ull, 5, 0x80000000ull, 0xfffffffbull},
    {0, 0xffffffff, 0x8000000000000000ull, 0xffffffffffffffffull, 2, 31, 0x7fffffff00000001ull, 0x80000000ull, 33, 1},
    {0xfffffff0ull, 0x80000000ull, 0xffffffffffffffffull, 0, 0x100000001ull, 77, 63, 0xffffffffull, 0x8000000000000001ull,
     12345},
};

TEST(VmJit, EveryRegisterPairForEveryRegisterForm) {
  SKIP_WITHOUT_JIT();
  // ALU reg forms: opcode | 0x08 (BPF_X), for ALU64 and ALU32; off 1 = signed.
  struct Form {
    uint8_t code;
    int16_t off;
  };
  std::vector<Form> forms;
  for (uint8_t cls : {0x07, 0x04})
    for (uint8_t op : {0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0})
      forms.push_back({static_cast<uint8_t>(cls | 0x08 | op), 0});
  for (uint8_t cls : {0x07, 0x04})
    for (uint8_t op : {0x30, 0x90}) forms.push_back({static_cast<uint8_t>(cls | 0x08 | op), 1});
  for (int16_t w : {8, 16, 32}) forms.push_back({0xbf, w});
  for (int16_t w : {8, 16}) forms.push_back({0xbc, w});
  // Conditional jumps by register (JMP and JMP32): r0 records which way.
  std::vector<uint8_t> jumps;
  for (uint8_t cls : {0x05, 0x06})
    for (uint8_t op : {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0})
      jumps.push_back(static_cast<uint8_t>(cls | 0x08 | op));
  int programs = 0;
  for (const auto &values : kValueSets)
    for (uint8_t dst = 0; dst <= 9; dst++)
      for (uint8_t src = 0; src <= 9; src++) {
        for (const Form &f : forms) {
          char what[96];
          snprintf(what, sizeof what, "code 0x%02x off %d r%u, r%u", f.code, f.off, dst, src);
          expect_same(with_registers(values, {I(f.code, dst, src, f.off)}), what);
          programs++;
        }
        for (uint8_t code : jumps) {
          char what[64];
          snprintf(what, sizeof what, "jump 0x%02x r%u, r%u", code, dst, src);
          expect_same(with_registers(values, {I(code, dst, src, 1), I(0xb7, 0, 0, 0, 11), I(0x07, 0, 0, 0, 7)}), what);
          programs++;
        }
      }
  RecordProperty("programs", programs);
}

TEST(VmJit, EveryRegisterForImmediateAndUnaryForms) {
  SKIP_WITHOUT_JIT();
  const int32_t kImms[] = {0, 1, -1, 7, 31, 32, 63, 64, INT32_MIN, INT32_MAX, 0x12345};
  for (const auto &values : kValueSets)
    for (uint8_t dst = 0; dst <= 9; dst++) {
      for (uint8_t cls : {0x07, 0x04})
        for (uint8_t op : {0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0})
          for (int32_t imm : kImms)
            for (int16_t off : {0, 1}) {
              if (off && op != 0x30 && op != 0x90) continue;
              char what[96];
              snprintf(what, sizeof what, "code 0x%02x off %d r%u, %d", cls | op, off, dst, imm);
              expect_same(with_registers(values, {I(static_cast<uint8_t>(cls | op), dst, 0, off, imm)}), what);
            }
      for (int32_t width : {16, 32, 64})
        for (uint8_t code : {0xd4, 0xdc, 0xd7})
          expect_same(with_registers(values, {I(code, dst, 0, 0, width)}), "endian " + std::to_string(code));
      expect_same(with_registers(values, {I(0x87, dst)}), "neg64");
      expect_same(with_registers(values, {I(0x84, dst)}), "neg32");
      for (uint8_t cls : {0x05, 0x06})
        for (uint8_t op : {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0})
          for (int32_t imm : kImms)
            expect_same(with_registers(values, {I(static_cast<uint8_t>(cls | op), dst, 0, 1, imm), I(0xb7, 0, 0, 0, 11),
                                                I(0x07, 0, 0, 0, 7)}),
                        "jump imm " + std::to_string(cls | op));
    }
}

TEST(VmJit, AtomicsWithEveryBaseAndSourceRegister) {
  SKIP_WITHOUT_JIT();
  const int32_t kAtomics[] = {0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1};
  for (uint8_t base = 0; base <= 9; base++)
    for (uint8_t src = 0; src <= 9; src++) {
      if (src == base) continue; // the source would be the (engine-specific) address
      for (int32_t op : kAtomics)
        for (bool dw : {true, false}) {
          // base = r1 (the memory) + 8; the memory is 24 bytes.
          uint64_t values[10] = {0x1111111122222222ull, 0, 0xfffffffff0f0f0f0ull, 5, 0x8000000000000000ull, 3,
                                 0xffffffffffffffffull, 0x0f0f0f0f0f0f0f0full, 2, 0x123456789ull};
          std::vector<RawInsn> p;
          for (uint8_t r = 0; r <= 9; r++)
            if (r != 1) {
              p.push_back(lo(r, values[r]));
              p.push_back(hi(values[r]));
            }
          if (base != 1) p.push_back(I(0xbf, base, 1));
          if (src == 1) p.push_back(lo(1, 0x5555aaaa5555aaaaull)), p.push_back(hi(0x5555aaaa5555aaaaull));
          p.push_back(I(dw ? 0xdb : 0xc3, base, src, 8, op));
          // Fold every register but those holding addresses: store them all,
          // then combine the stack slots.
          for (uint8_t r = 0; r <= 9; r++) {
            bool address = r == base || (r == 1 && src != 1); // differs between the runs
            if (address) p.push_back(I(0x7a, 10, 0, static_cast<int16_t>(-8 * (r + 1)), 0));
            else p.push_back(I(0x7b, 10, r, static_cast<int16_t>(-8 * (r + 1))));
          }
          p.push_back(I(0xb7, 0, 0, 0, 0));
          for (uint8_t r = 0; r <= 9; r++) {
            p.push_back(I(0x79, 1, 10, static_cast<int16_t>(-8 * (r + 1))));
            p.push_back(I(0x27, 0, 0, 0, 31));
            p.push_back(I(0xaf, 0, 1));
          }
          p.push_back(I(0x95));
          std::vector<uint8_t> mem(24);
          for (size_t i = 0; i < mem.size(); i++) mem[i] = static_cast<uint8_t>(0x80 + i * 7);
          char what[64];
          snprintf(what, sizeof what, "atomic 0x%x %s base r%u src r%u", op, dw ? "dw" : "w", base, src);
          expect_same(p, what, mem);
        }
    }
}

TEST(VmJit, LoadsAndStoresOfEverySize) {
  SKIP_WITHOUT_JIT();
  const std::vector<uint8_t> loads = {0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91};
  const std::vector<uint8_t> stores = {0x63, 0x6b, 0x73, 0x7b};
  const std::vector<uint8_t> store_imms = {0x62, 0x6a, 0x72, 0x7a};
  std::vector<uint8_t> mem(300);
  for (size_t i = 0; i < mem.size(); i++) mem[i] = static_cast<uint8_t>(0xf3 * i + 0x81);
  for (uint8_t r = 0; r <= 9; r++) {
    for (int16_t off : {0, 8, 127, 128, 200}) {
      for (uint8_t code : loads) {
        // rN = r1 (memory) then rN = *(size *)(rN + off): also base == destination.
        std::vector<RawInsn> p = {I(0xbf, r, 1), I(code, r, r, off), I(0xbf, 0, r), I(0x95)};
        expect_same(p, "load " + std::to_string(code) + " r" + std::to_string(r), mem);
      }
      for (uint8_t code : stores) {
        uint8_t src = static_cast<uint8_t>((r + 1) % 10);
        std::vector<RawInsn> p = {lo(src, 0x8899aabbccddeeffull), hi(0x8899aabbccddeeffull), I(0xbf, r, 1),
                                  I(code, r, src, off), I(0xb7, 0, 0, 0, 0), I(0x95)};
        if (src == 1) p.insert(p.begin(), I(0xbf, 9, 1)), p[3] = I(0xbf, r, 9);
        expect_same(p, "store " + std::to_string(code) + " r" + std::to_string(r), mem);
      }
      for (uint8_t code : store_imms) {
        std::vector<RawInsn> p = {I(0xbf, r, 1), I(code, r, 0, off, -0x1234567), I(0xb7, 0, 0, 0, 0), I(0x95)};
        expect_same(p, "store imm " + std::to_string(code) + " r" + std::to_string(r), mem);
      }
    }
  }
  // Byte stores from the registers whose low byte needs a REX prefix (sil, dil, bpl).
  for (uint8_t src : {1, 2, 6}) {
    std::vector<RawInsn> p = {I(0xbf, 9, 1), lo(src, 0x1234), hi(0), I(0x73, 9, src, 3), I(0xb7, 0, 0, 0, 0), I(0x95)};
    expect_same(p, "stxb from r" + std::to_string(src), mem);
  }
}

TEST(VmJit, HelperAndLocalCallsKeepTheCalleeSavedRegisters) {
  SKIP_WITHOUT_JIT();
  // main: r6..r9 set, calls a subprogram that clobbers them and its stack,
  // and a helper; the caller's r6..r9 and stack survive.
  std::vector<RawInsn> p = {
      I(0xb7, 6, 0, 0, 6), I(0xb7, 7, 0, 0, 7), I(0xb7, 8, 0, 0, 8), I(0xb7, 9, 0, 0, 9),
      I(0x7a, 10, 0, -8, 1000),
      I(0x85, 0, 1, 0, 12),                            // call local: insn 18
      I(0x7b, 10, 0, -16),                             // r1-r5 do not survive calls: keep r0 on the stack
      I(0x85, 0, 0, 0, BPF_FUNC_get_smp_processor_id), // a helper: r0 = cpu
      I(0xb7, 0, 0, 0, 0), I(0x79, 1, 10, -16), I(0x0f, 0, 1),
      I(0x0f, 0, 6), I(0x0f, 0, 7), I(0x0f, 0, 8), I(0x0f, 0, 9),
      I(0x79, 2, 10, -8), I(0x0f, 0, 2),
      I(0x95),
      // the subprogram
      I(0xb7, 6, 0, 0, 600), I(0xb7, 7, 0, 0, 700), I(0xb7, 8, 0, 0, 800), I(0xb7, 9, 0, 0, 900),
      I(0x7a, 10, 0, -8, 5), I(0x79, 0, 10, -8), I(0x07, 0, 0, 0, 37), I(0x95)};
  expect_same(p, "calls");
  auto jit = create(p, Engine::kJit);
  EXPECT_EQ(jit->run(0).r0, 42u + 6 + 7 + 8 + 9 + 1000);
  // Code placed anywhere: helpers called through a register.
  auto far = create(p, Engine::kJit, false, nullptr, false);
  EXPECT_EQ(far->run(0).r0, 42u + 6 + 7 + 8 + 9 + 1000);
  auto far_callx = create(assembled("mov %r1, 5\nmov %r8, 8\ncall %r8\nmov %r0, 77\nexit"), Engine::kJit, false,
                          nullptr, false);
  EXPECT_EQ(far_callx->run(0).r0, 77u);
}

TEST(VmJit, CallDepthLimitAndRecursion) {
  SKIP_WITHOUT_JIT();
  // r1 levels of recursion: 7 fit in 8 frames, 8 do not (-E2BIG, the same message).
  auto p = assembled(R"(
    mov %r1, %r1
  f:
    jeq %r1, 0, done
    sub %r1, 1
    call local f
  done:
    mov %r0, 1
    exit)");
  auto interp = create(p, Engine::kInterpreter);
  auto jit = create(p, Engine::kJit);
  for (uint64_t depth : {0, 3, 6, 7, 8, 20}) {
    RunResult a = interp->run(depth), b = jit->run(depth);
    EXPECT_EQ(a.err, b.err) << depth;
    EXPECT_EQ(a.r0, b.r0) << depth;
    EXPECT_EQ(a.error, b.error) << depth;
  }
  EXPECT_EQ(jit->run(8).err, -E2BIG);
  EXPECT_EQ(jit->run(7).err, 0);
  // The error exit unwinds cleanly: the next run works.
  EXPECT_EQ(jit->run(2).r0, 1u);
}

// bpf_get_smp_processor_id is inlined (a load from the thread's rseq area,
// as the kernel inlines a per-CPU load): the same value as the helper and the
// interpreter on every CPU the thread may run on.
TEST(VmJit, InlinedGetSmpProcessorIdIsTheHelpersValue) {
  SKIP_WITHOUT_JIT();
  auto jit = create(assembled("call 8\nexit"), Engine::kJit);
  auto interp = create(assembled("call 8\nexit"), Engine::kInterpreter);
  int32_t offset = 0;
  if (userbpf::current_cpu_thread_offset(&offset)) {
    const uint8_t fs_load[] = {0x64, 0x8b, 0x04, 0x25};
    const uint8_t *code = jit->jit()->code();
    const uint8_t *end = code + jit->jit()->code_size();
    EXPECT_NE(std::search(code, end, fs_load, fs_load + 4), end) << "inlined";
  }
  int visited = ubt::on_each_allowed_cpu(userbpf::possible_cpus(), [&](uint32_t cpu) {
    EXPECT_EQ(jit->run(0).r0, cpu);
    EXPECT_EQ(interp->run(0).r0, cpu);
  });
  EXPECT_GT(visited, 0);
}

TEST(VmJit, Callx) {
  SKIP_WITHOUT_JIT();
  std::vector<RawInsn> raw = assembled("lddw %r2, 0\ncall %r2\nadd %r0, 1\nexit\nmov %r0, 41\nexit");
  raw[0].src = static_cast<uint8_t>(Pseudo::kFunc);
  raw[0].imm = 4; // slot 5, "mov %r0, 41"
  auto jit = create(raw, Engine::kJit);
  EXPECT_EQ(jit->run(0).r0, 42u);
  expect_same(raw, "callx of a subprogram");
  // A helper id (the conformance suite's callx), and a bad value.
  // (get_smp_processor_id's result may differ between the runs: r0 is reset.)
  expect_same(assembled("mov %r1, 5\nmov %r8, 8\ncall %r8\nmov %r0, 77\nadd %r0, %r6\nexit"), "callx of a helper");
  expect_same(assembled("mov %r3, 100000\ncall %r3\nexit"), "callx of nothing");
  auto bad = create(assembled("mov %r3, 100000\ncall %r3\nexit"), Engine::kJit);
  RunResult r = bad->run(0);
  EXPECT_EQ(r.err, -EINVAL);
  EXPECT_EQ(r.error, "callx: r3 = 100000 is neither a subprogram nor a helper");
}

TEST(VmJit, FallingIntoASubprogramContinuesInTheSameFrame) {
  SKIP_WITHOUT_JIT();
  // Unverified code may run into a subprogram's first instruction; both
  // engines then just continue (no new frame).
  std::vector<RawInsn> p = {I(0xb7, 0, 0, 0, 1), I(0x85, 0, 1, 0, 1), I(0x07, 0, 0, 0, 10),
                            I(0x07, 0, 0, 0, 100), I(0x95)};
  expect_same(p, "fall into a subprogram");
  // The same after an LD_IMM64 (two slots) right before the subprogram.
  std::vector<RawInsn> q = {I(0xb7, 0, 0, 0, 1), I(0x85, 0, 1, 0, 2), lo(1, 7), hi(7), I(0x07, 0, 0, 0, 10), I(0x95)};
  expect_same(q, "fall into a subprogram after lddw");
  EXPECT_EQ(create(q, Engine::kJit)->run(0).r0, 21u);
}

TEST(VmJit, LongJumpsAndManyInstructions) {
  SKIP_WITHOUT_JIT();
  // Jumps over more than 127 bytes of code both ways (rel32 forms), in a
  // program large enough to take several layout passes.
  std::vector<RawInsn> p = {I(0xb7, 0, 0, 0, 0), I(0xb7, 1, 0, 0, 50)};
  size_t loop = p.size();
  for (int i = 0; i < 200; i++) p.push_back(I(0x07, 0, 0, 0, i));
  p.push_back(I(0x17, 1, 0, 0, 1));
  p.push_back(I(0x55, 1, 0, static_cast<int16_t>(static_cast<int64_t>(loop) - static_cast<int64_t>(p.size()) - 1), 0));
  p.push_back(I(0x05, 0, 0, 300));
  for (int i = 0; i < 300; i++) p.push_back(I(0x07, 0, 0, 0, 1000000));
  p.push_back(I(0x95));
  expect_same(p, "long jumps");
}

bool code_contains(const JitImage &image, uint32_t value) {
  const uint8_t *c = image.code();
  for (size_t i = 0; i + 4 <= image.code_size(); i++)
    if (memcmp(c + i, &value, 4) == 0) return true;
  return false;
}

TEST(VmJit, ConstantBlindingHidesImmediates) {
  SKIP_WITHOUT_JIT();
  const uint32_t kMagic = 0x3c5a9669;
  std::vector<RawInsn> p = {I(0xb7, 0, 0, 0, static_cast<int32_t>(kMagic)),
                            I(0x07, 0, 0, 0, static_cast<int32_t>(kMagic)),
                            I(0x15, 0, 0, 1, static_cast<int32_t>(kMagic)),
                            I(0x7a, 10, 0, -8, static_cast<int32_t>(kMagic)),
                            lo(1, 0x3c5a96693c5a9669ull), hi(0x3c5a96693c5a9669ull),
                            I(0xaf, 0, 1), I(0x95)};
  auto plain = create(p, Engine::kJit, false);
  auto blinded = create(p, Engine::kJit, true);
  ASSERT_TRUE(plain && blinded);
  EXPECT_TRUE(code_contains(*plain->jit(), kMagic));
  EXPECT_FALSE(code_contains(*blinded->jit(), kMagic));
  EXPECT_EQ(plain->run(0).r0, blinded->run(0).r0);
  // A new key each compilation.
  auto again = create(p, Engine::kJit, true);
  EXPECT_NE(std::vector<uint8_t>(again->jit()->code(), again->jit()->code() + again->jit()->code_size()),
            std::vector<uint8_t>(blinded->jit()->code(), blinded->jit()->code() + blinded->jit()->code_size()));
}

// The native code of BPF instruction i (a function's first one includes its
// prologue).
std::vector<uint8_t> insn_code(const JitImage &j, size_t i) {
  return std::vector<uint8_t>(j.code() + j.insn_begin(i), j.code() + j.insn_begin(i + 1));
}

bool contains_bytes(const std::vector<uint8_t> &code, const std::vector<uint8_t> &bytes) {
  return std::search(code.begin(), code.end(), bytes.begin(), bytes.end()) != code.end();
}

const int32_t kMultipliers[] = {0,  1,  2,  3,   4,   5,   6,       7,           8,         9,         10,
                                15, 16, 17, 31,  33,  63,  65,      255,         257,       1 << 30,   (1 << 30) + 1,
                                INT32_MAX,  -1,  -2,  -3,  -7,      -9,          INT32_MIN, 0x12345};

TEST(VmJit, MultiplicationsByConstantsOfEveryShape) {
  SKIP_WITHOUT_JIT();
  // 2^k is a shift, 3/5/9 a lea, 2^k + 1 and 2^k - 1 a shift and an add or
  // sub through r11, the rest imul: every destination, both widths.
  for (const auto &values : kValueSets)
    for (uint8_t dst = 0; dst <= 9; dst++)
      for (uint8_t cls : {0x07, 0x04})
        for (int32_t m : kMultipliers) {
          char what[64];
          snprintf(what, sizeof what, "mul%s r%u, %d", cls == 0x04 ? "32" : "", dst, m);
          expect_same(with_registers(values, {I(static_cast<uint8_t>(cls | 0x20), dst, 0, 0, m)}), what);
        }
}

TEST(VmJit, MultiplicationByConstantPicksTheShortForms) {
  SKIP_WITHOUT_JIT();
  // r1 (rdi) = 0x1234567890 * m: the code of the multiplication itself.
  auto code_for = [](uint8_t cls, int32_t m, uint64_t *r0) {
    std::vector<RawInsn> p = {lo(1, 0x1234567890ull), hi(0x1234567890ull), I(static_cast<uint8_t>(cls | 0x20), 1, 0, 0, m),
                              I(0xbf, 0, 1), I(0x95)};
    auto prog = create(p, Engine::kJit);
    *r0 = prog->run(0).r0;
    return insn_code(*prog->jit(), 2);
  };
  uint64_t r0 = 0;
  EXPECT_EQ(code_for(0x07, 9, &r0), (std::vector<uint8_t>{0x48, 0x8d, 0x3c, 0xff})); // lea rdi, [rdi + rdi*8]
  EXPECT_EQ(r0, 0x1234567890ull * 9);
  EXPECT_EQ(code_for(0x04, 5, &r0), (std::vector<uint8_t>{0x8d, 0x3c, 0xbf})); // lea edi, [rdi + rdi*4]
  EXPECT_EQ(r0, static_cast<uint32_t>(0x34567890u * 5));
  EXPECT_EQ(code_for(0x07, 16, &r0), (std::vector<uint8_t>{0x48, 0xc1, 0xe7, 0x04})); // shl rdi, 4
  EXPECT_EQ(r0, 0x1234567890ull * 16);
  std::vector<uint8_t> seven = code_for(0x04, 7, &r0); // (x << 3) - x in r11d
  EXPECT_FALSE(contains_bytes(seven, {0x6b})) << "no imul";
  EXPECT_EQ(r0, static_cast<uint32_t>(0x34567890u * 7));
  std::vector<uint8_t> seventeen = code_for(0x07, 17, &r0); // x + (x << 4)
  EXPECT_EQ(seventeen.size(), 3u + 4u + 3u);
  EXPECT_EQ(r0, 0x1234567890ull * 17);
  EXPECT_EQ(code_for(0x07, 0x12345, &r0), (std::vector<uint8_t>{0x48, 0x69, 0xff, 0x45, 0x23, 0x01, 0x00})); // imul
  EXPECT_EQ(r0, 0x1234567890ull * 0x12345);
  EXPECT_EQ(code_for(0x07, -9, &r0), (std::vector<uint8_t>{0x48, 0x6b, 0xff, 0xf7})); // negative: imul
  EXPECT_EQ(r0, 0x1234567890ull * static_cast<uint64_t>(-9ll));
}

// Division forms (class | op | BPF_X, off) and their immediate forms.
struct DivisionForm {
  uint8_t op;
  int16_t off;
};
const DivisionForm kDivisions[] = {{0x30, 0}, {0x90, 0}, {0x30, 1}, {0x90, 1}};

TEST(VmJit, DivisionKeepsR0AndR3OnlyWhenTheyAreReadLater) {
  SKIP_WITHOUT_JIT();
  // x86 divides rdx:rax (BPF r3:r0). After the division r0 and/or r3 are
  // overwritten before any read (the JIT need not keep them), or read first
  // (through r6 or r7, which the fold at the end sees), or left to the fold.
  for (const auto &values : kValueSets)
    for (uint8_t dst = 0; dst <= 9; dst++)
      for (uint8_t src = 0; src <= 9; src++)
        for (const DivisionForm &f : kDivisions)
          for (uint8_t cls : {0x07, 0x04})
            for (int tail = 0; tail < 4; tail++) {
              std::vector<RawInsn> body = {I(static_cast<uint8_t>(cls | 0x08 | f.op), dst, src, f.off)};
              const uint8_t reader = dst == 6 || src == 6 ? 7 : 6;
              for (uint8_t r : {0, 3}) {
                if (r == dst) continue;
                if (tail == 1 || (tail == 2 && r == 0)) body.push_back(I(0xb7, r, 0, 0, 40 + r)); // overwritten
                if (tail == 3) {
                  body.push_back(I(0xaf, reader, r)); // read, then overwritten
                  body.push_back(I(0xb7, r, 0, 0, 40 + r));
                }
              }
              char what[96];
              snprintf(what, sizeof what, "code 0x%02x off %d r%u, r%u, tail %d", cls | 0x08 | f.op, f.off, dst, src,
                       tail);
              expect_same(with_registers(values, body), what);
            }
  // The immediate forms, where the divisor is in r11.
  for (const auto &values : kValueSets)
    for (uint8_t dst = 0; dst <= 9; dst++)
      for (const DivisionForm &f : kDivisions)
        for (uint8_t cls : {0x07, 0x04})
          for (int32_t imm : {3, -7, INT32_MIN, 0x7fffffff})
            for (bool dead : {false, true}) {
              std::vector<RawInsn> body = {I(static_cast<uint8_t>(cls | f.op), dst, 0, f.off, imm)};
              if (dead)
                for (uint8_t r : {0, 3})
                  if (r != dst) body.push_back(I(0xb7, r, 0, 0, 40 + r));
              expect_same(with_registers(values, body), "div imm " + std::to_string(cls | f.op) + " r" +
                                                            std::to_string(dst) + ", " + std::to_string(imm));
            }
}

TEST(VmJit, DivisionSavesNothingForDeadRegisters) {
  SKIP_WITHOUT_JIT();
  // div r1, r2 with r0 and r3 dead after it, live, or written only after a
  // jump (which the JIT treats as a read: it does not look past jumps).
  auto div_size = [](std::vector<RawInsn> tail) {
    std::vector<RawInsn> p = {I(0xb7, 0, 0, 0, 1), I(0xb7, 1, 0, 0, 100), I(0xb7, 2, 0, 0, 7), I(0xb7, 3, 0, 0, 3),
                              I(0x3f, 1, 2)};
    p.insert(p.end(), tail.begin(), tail.end());
    p.push_back(I(0x0f, 0, 1)); // r0 += r1
    p.push_back(I(0x95));
    auto prog = create(p, Engine::kJit);
    auto interp = create(p, Engine::kInterpreter);
    EXPECT_EQ(prog->run(0).r0, interp->run(0).r0);
    return insn_code(*prog->jit(), 4).size();
  };
  const size_t dead = div_size({I(0xb7, 0, 0, 0, 5), I(0xb7, 3, 0, 0, 6)});
  const size_t r3_live = div_size({I(0xb7, 0, 0, 0, 5)});
  const size_t live = div_size({I(0x0f, 0, 3)});
  const size_t after_jump = div_size({I(0x05, 0, 0, 0), I(0xb7, 0, 0, 0, 5), I(0xb7, 3, 0, 0, 6)});
  EXPECT_EQ(r3_live, dead + 6);  // mov r9, rdx and back
  EXPECT_EQ(live, dead + 12);    // and mov r10, rax and back
  EXPECT_EQ(after_jump, live);
}

TEST(VmJit, UnsignedDivisionOfValuesAboveAndBelow2To32) {
  SKIP_WITHOUT_JIT();
  // 64-bit div/mod by a register take the 32-bit divide when both operands
  // fit in 32 bits, else the 64-bit one: operands on both sides of 2^32.
  const uint64_t kOperands[] = {0,           1,           2,           7,           0x7fffffff,
                                0x80000000,  0xffffffff,  0x100000000, 0x100000001, 0x123456789abcdefull,
                                0x8000000000000000ull,    UINT64_MAX};
  const std::pair<uint8_t, uint8_t> kPairs[] = {{1, 2}, {0, 3}, {3, 0}, {0, 1}, {3, 4}, {5, 5}};
  for (uint64_t a : kOperands)
    for (uint64_t b : kOperands)
      for (auto [dst, src] : kPairs)
        for (uint8_t code : {0x3f, 0x9f}) {
          uint64_t values[10] = {11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
          values[src] = b;
          values[dst] = a;
          char what[96];
          snprintf(what, sizeof what, "0x%02x r%u=%#llx, r%u=%#llx", code, dst, static_cast<unsigned long long>(a), src,
                   static_cast<unsigned long long>(b));
          expect_same(with_registers(values, {I(code, dst, src)}), what);
        }
  // The 32-bit divide is inline (div esi); the 64-bit one (div rsi) is out of
  // line, after the function's last instruction.
  auto prog = create({I(0xb7, 1, 0, 0, 100), I(0xb7, 2, 0, 0, 7), I(0x3f, 1, 2), I(0xbf, 0, 1), I(0x95)}, Engine::kJit);
  const std::vector<uint8_t> code = insn_code(*prog->jit(), 2);
  EXPECT_TRUE(contains_bytes(code, {0xf7, 0xf6}));
  EXPECT_FALSE(contains_bytes(code, {0x48, 0xf7, 0xf6}));
  EXPECT_TRUE(contains_bytes(insn_code(*prog->jit(), 4), {0x48, 0xf7, 0xf6}));
  EXPECT_EQ(prog->run(0).r0, 14u);
}

TEST(VmJit, OutOfLinePathsInEveryFunctionAndBetweenThem) {
  SKIP_WITHOUT_JIT();
  // Rare paths (a divisor of 0, a 64-bit operand) run out of line after their
  // function's last instruction and come back: in the main program and in a
  // subprogram, and in code that falls (unverified) from the main program
  // over those stubs into the subprogram.
  //   0: r0 = 100; 1-2: r2 = divisor; 3: call 6; 4: r0 /= r2; 5: r0 += 10
  //   6 (subprogram): r0 += 1000; 7: r0 %= r2; 8: r0 /= r2 (32-bit); 9: exit
  for (uint64_t divisor : {0ull, 3ull, 0x100000000ull, 0xffffffffffffffffull}) {
    std::vector<RawInsn> p = {I(0xb7, 0, 0, 0, 100), lo(2, divisor), hi(divisor), I(0x85, 0, 1, 0, 2),
                              I(0x3f, 0, 2),         I(0x07, 0, 0, 0, 10), I(0x07, 0, 0, 0, 1000), I(0x9f, 0, 2),
                              I(0x3c, 0, 2),         I(0x95)};
    expect_same(p, "divisor " + std::to_string(divisor));
  }
}

TEST(VmJit, JumpOnZeroAfterAnAluOpUsesItsFlags) {
  SKIP_WITHOUT_JIT();
  // jeq/jne dst, 0 right after add/sub/and/or/xor into dst skip the test when
  // the op's ZF answers the jump's width: results zero in 64 bits, zero in the
  // low 32 bits only, and not zero; every op, both widths of op and jump.
  const uint64_t kStarts[] = {1, 0x100000001ull, 0xffffffffull, 0, 0x8000000000000000ull, 2};
  for (uint64_t start : kStarts)
    for (uint8_t op : {0x00, 0x10, 0x40, 0x50, 0xa0})
      for (uint8_t alu : {0x07, 0x04})
        for (bool by_reg : {false, true})
          for (uint8_t jmp : {0x05, 0x06})
            for (uint8_t cond : {0x10, 0x50}) {
              // r1 = start; r2 = 1; r1 op= 1 (or r2); if r1 cond 0 goto +1; r0 = 11; r0 += 7
              uint64_t values[10] = {0, start, 1, 3, 4, 5, 6, 7, 8, 9};
              RawInsn alu_insn = by_reg ? I(static_cast<uint8_t>(alu | 0x08 | op), 1, 2)
                                        : I(static_cast<uint8_t>(alu | op), 1, 0, 0, op == 0x50 ? 0x7fffffff : 1);
              char what[96];
              snprintf(what, sizeof what, "alu 0x%02x then jump 0x%02x, r1 = %#llx", alu_insn.code, jmp | cond,
                       static_cast<unsigned long long>(start));
              expect_same(with_registers(values, {alu_insn, I(static_cast<uint8_t>(jmp | cond), 1, 0, 1, 0),
                                                  I(0xb7, 0, 0, 0, 11), I(0x07, 0, 0, 0, 7)}),
                          what);
            }
  // A jump target: another path arrives with other flags (cmp r2, 0 here).
  for (uint64_t r2 : {0ull, 5ull})
    expect_same(assembled("mov %r1, 9\nmov %r2, " + std::to_string(r2) +
                          "\njeq %r2, 0, L\nsub %r1, 1\nL:\njne %r1, 0, M\nmov %r0, 1\nexit\nM:\nmov %r0, 2\nexit"),
                "jump target, r2 = " + std::to_string(r2));
}

TEST(VmJit, JumpOnZeroSkipsTheTestOnlyWhenTheFlagsAnswerIt) {
  SKIP_WITHOUT_JIT();
  // The code of the jump (instruction 3) in "r0 = 0; r6 = 3; L: <op>; <jump> L".
  auto jump_code = [](const std::string &op, const std::string &jump) {
    auto prog = create(assembled("mov %r0, 0\nmov %r6, 3\nL:\n" + op + "\n" + jump + " %r6, 0, L\nexit"), Engine::kJit);
    EXPECT_EQ(prog->run(0).r0, 0u);
    return insn_code(*prog->jit(), 3);
  };
  EXPECT_EQ(jump_code("sub %r6, 1", "jne").size(), 2u);
  EXPECT_EQ(jump_code("sub %r6, 1", "jne")[0], 0x75);
  EXPECT_EQ(jump_code("sub32 %r6, 1", "jne").size(), 2u);
  EXPECT_EQ(jump_code("sub32 %r6, 1", "jne32").size(), 2u);
  // A 64-bit result's ZF does not answer a 32-bit jump: test ebx, ebx first.
  EXPECT_EQ(jump_code("sub %r6, 1", "jne32"), (std::vector<uint8_t>{0x85, 0xdb, 0x75, jump_code("sub %r6, 1", "jne32")[3]}));
  // mov and mul leave no usable flags: test rbx, rbx.
  EXPECT_EQ(jump_code("mov %r6, 0", "jne")[0], 0x48);
  EXPECT_EQ(jump_code("mul %r6, 0", "jne").size(), 3u + 2u);
}

// The permissions of the mapping holding `addr` in /proc/self/maps ("" if none).
std::string mapping_perms(uintptr_t addr) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long lo_addr = 0, hi_addr = 0;
    char perms[8] = {};
    if (sscanf(line.c_str(), "%lx-%lx %7s", &lo_addr, &hi_addr, perms) == 3 && addr >= lo_addr && addr < hi_addr)
      return perms;
  }
  return "";
}

TEST(VmJit, CodeIsNeverWritableAndIsFreedAfterAGracePeriod) {
  SKIP_WITHOUT_JIT();
  auto prog = create(assembled("mov %r0, 1\nexit"), Engine::kJit);
  uintptr_t code = reinterpret_cast<uintptr_t>(prog->jit()->code());
  EXPECT_EQ(mapping_perms(code), "r-xp");
  prog.reset();
  userbpf::rcu_barrier();
  EXPECT_EQ(mapping_perms(code).substr(0, 3) == "r-x", false) << "the code is still mapped";
}

TEST(VmJit, InstructionMapCoversTheCode) {
  SKIP_WITHOUT_JIT();
  auto prog = create(assembled("mov %r0, 1\nadd %r0, 2\nexit"), Engine::kJit);
  const JitImage &j = *prog->jit();
  ASSERT_EQ(j.insn_count(), 3u);
  EXPECT_GT(j.insn_begin(0), 0u); // the entry trampoline comes first
  for (size_t i = 0; i < 3; i++) EXPECT_LT(j.insn_begin(i), j.insn_begin(i + 1));
  EXPECT_EQ(j.insn_begin(3), j.code_size());
  EXPECT_NE(j.entry(0), 0u);
  EXPECT_EQ(j.entry(1), 0u);
}

TEST(VmJit, BudgetedRunsUseTheInterpreter) {
  SKIP_WITHOUT_JIT();
  auto prog = create(assembled("l: ja l\nexit"), Engine::kJit);
  RunResult r = prog->run(0, 0, 1000);
  EXPECT_EQ(r.err, -ETIME);
  EXPECT_EQ(r.executed, 1000u);
}

TEST(VmJit, ProgramLayerUsesTheJitUnlessToldOtherwise) {
  SKIP_WITHOUT_JIT();
  ubt::use_private_fs_root();
  // The default (no USERBPF_JIT in the test's environment) is the JIT.
  if (!getenv("USERBPF_JIT")) {
    EXPECT_EQ(userbpf::execution_engine(), userbpf::ExecutionEngine::kJit);
  }
  std::vector<RawInsn> insns = {I(0xb7, 0, 0, 0, 40), I(0x07, 0, 0, 0, 2), I(0x95)};
  auto load = [&] {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    a.insns = reinterpret_cast<uintptr_t>(insns.data());
    a.insn_cnt = static_cast<uint32_t>(insns.size());
    a.license = reinterpret_cast<uintptr_t>("GPL");
    return static_cast<int>(ubt::call(ubt::userbpf_call, BPF_PROG_LOAD, a));
  };
  auto runtime_is_jit = [](int fd, uint64_t *r0) {
    userbpf::RcuReadGuard guard;
    int err = 0;
    const userbpf::Handle *h = userbpf::handle_get(fd, &err);
    if (!h) return -1;
    const Program *p = userbpf::prog_runtime(*h->obj, &err);
    if (!p) return -1;
    *r0 = p->run(0).r0;
    return p->jit() ? 1 : 0;
  };
  const userbpf::ExecutionEngine before = userbpf::execution_engine();
  ASSERT_EQ(userbpf::set_execution_engine(userbpf::ExecutionEngine::kJit), 0);
  int fd = load();
  ASSERT_GE(fd, 0);
  uint64_t r0 = 0;
  EXPECT_EQ(runtime_is_jit(fd, &r0), 1);
  EXPECT_EQ(r0, 42u);
  close(fd);
  ASSERT_EQ(userbpf::set_execution_engine(userbpf::ExecutionEngine::kInterpreter), 0);
  fd = load();
  ASSERT_GE(fd, 0);
  EXPECT_EQ(runtime_is_jit(fd, &r0), 0);
  EXPECT_EQ(r0, 42u);
  close(fd);
  // Blinding for every program (bpf_jit_harden = 2) still runs the same.
  ASSERT_EQ(userbpf::set_execution_engine(userbpf::ExecutionEngine::kJit), 0);
  userbpf::set_jit_harden(userbpf::JitHarden::kAll);
  EXPECT_TRUE(userbpf::runtime_program_options().jit.blind_constants);
  fd = load();
  ASSERT_GE(fd, 0);
  EXPECT_EQ(runtime_is_jit(fd, &r0), 1);
  EXPECT_EQ(r0, 42u);
  close(fd);
  userbpf::set_jit_harden(userbpf::JitHarden::kOff);
  EXPECT_FALSE(userbpf::runtime_program_options().jit.blind_constants);

  // Maps: LD_IMM64 of a map (the helper's argument) and of a map value (an
  // address the code loads from), resolved by the loader, in JIT code.
  long map = ubt::map_create(ubt::userbpf_call, BPF_MAP_TYPE_ARRAY, 4, 8, 1);
  ASSERT_GE(map, 0);
  insns = {I(0x62, 10, 0, -4, 0),           // *(u32 *)(fp-4) = 0 (key)
           I(0x7a, 10, 0, -16, 40),         // *(u64 *)(fp-16) = 40 (value)
           I(0x18, 1, BPF_PSEUDO_MAP_FD, 0, static_cast<int32_t>(map)), I(0),
           I(0xbf, 2, 10), I(0x07, 2, 0, 0, -4),
           I(0xbf, 3, 10), I(0x07, 3, 0, 0, -16),
           I(0xb7, 4, 0, 0, 0),
           I(0x85, 0, 0, 0, BPF_FUNC_map_update_elem),
           I(0x18, 1, BPF_PSEUDO_MAP_VALUE, 0, static_cast<int32_t>(map)), I(0),
           I(0xb7, 2, 0, 0, 2),
           I(0xdb, 1, 2, 0, 0),             // lock *(u64 *)(value) += 2
           I(0x79, 0, 1, 0), I(0x95)};
  fd = load();
  ASSERT_GE(fd, 0) << strerror(-fd);
  close(static_cast<int>(map)); // the program holds it
  EXPECT_EQ(runtime_is_jit(fd, &r0), 1);
  EXPECT_EQ(r0, 42u);
  close(fd);
  userbpf::set_execution_engine(before);
}

// ---- tail calls (helper 12) through the program layer's program arrays

// Loads a socket filter through the in-process bpf(); returns its fd.
int load_socket_filter(const std::vector<RawInsn> &insns) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insns = reinterpret_cast<uintptr_t>(insns.data());
  a.insn_cnt = static_cast<uint32_t>(insns.size());
  a.license = reinterpret_cast<uintptr_t>("GPL");
  return static_cast<int>(ubt::call(ubt::userbpf_call, BPF_PROG_LOAD, a));
}

// r0 = tail_call(ctx, array, index) falling through: return `fallthrough`.
std::vector<RawInsn> tail_caller(int array, int32_t index, int32_t fallthrough) {
  return {I(0x18, 2, BPF_PSEUDO_MAP_FD, 0, array), I(0), I(0xb7, 3, 0, 0, index),
          I(0x85, 0, 0, 0, BPF_FUNC_tail_call), I(0xb7, 0, 0, 0, fallthrough), I(0x95)};
}

// The program behind fd, built (on first use) with `engine`; nullptr if none.
const Program *runtime_with(int fd, userbpf::ExecutionEngine engine) {
  const userbpf::ExecutionEngine before = userbpf::execution_engine();
  userbpf::set_execution_engine(engine);
  userbpf::RcuReadGuard guard;
  int err = 0;
  const userbpf::Handle *h = userbpf::handle_get(fd, &err);
  const Program *p = h ? userbpf::prog_runtime(*h->obj, &err) : nullptr;
  userbpf::set_execution_engine(before);
  return p; // lives as long as the program (fd stays open in the tests)
}

// One run as a test run does it: under RCU, then the chain's targets dropped.
RunResult run_chain(const Program &p) {
  RunResult r = p.run(0);
  userbpf::tail_call_targets_release();
  return r;
}

struct TailCallChain {
  int array = -1;
  std::vector<int> progs;
  ~TailCallChain() {
    for (int fd : progs) close(fd);
    if (array >= 0) close(array);
  }
};

// Programs 0..n-1 in slots 0..n-1 of one array: program i tail-calls slot
// i + 1 and returns 1000 + i when that falls through.
void make_chain(TailCallChain *chain, int n) {
  ubt::use_private_fs_root();
  long array = ubt::map_create(ubt::userbpf_call, BPF_MAP_TYPE_PROG_ARRAY, 4, 4, static_cast<uint32_t>(n));
  ASSERT_GE(array, 0);
  chain->array = static_cast<int>(array);
  for (int i = 0; i < n; i++) {
    int fd = load_socket_filter(tail_caller(chain->array, i + 1, 1000 + i));
    ASSERT_GE(fd, 0) << strerror(-fd);
    chain->progs.push_back(fd);
    uint32_t key = static_cast<uint32_t>(i), value = static_cast<uint32_t>(fd);
    ASSERT_EQ(ubt::map_update(ubt::userbpf_call, chain->array, &key, &value), 0);
  }
}

TEST(VmJit, TailCallChainOf33ThenFallsThrough) {
  SKIP_WITHOUT_JIT();
  TailCallChain chain;
  ASSERT_NO_FATAL_FAILURE(make_chain(&chain, 40));
  std::vector<const Program *> runtimes;
  for (int fd : chain.progs) {
    runtimes.push_back(runtime_with(fd, userbpf::ExecutionEngine::kJit));
    ASSERT_NE(runtimes.back(), nullptr);
    ASSERT_NE(runtimes.back()->jit(), nullptr);
  }
  // 33 tail calls reach program 33, whose 34th falls through.
  RunResult r = run_chain(*runtimes[0]);
  ASSERT_EQ(r.err, 0) << r.error;
  EXPECT_EQ(r.r0, 1033u);
  // The count is per run, not per program: starting further along the chain.
  EXPECT_EQ(run_chain(*runtimes[5]).r0, 1038u);
  // The interpreter (a budget always uses it) counts the same way.
  EXPECT_EQ(runtimes[0]->run(0, 0, 1000000).r0, 1033u);
  userbpf::tail_call_targets_release();
  // An empty slot falls through at the caller.
  uint32_t key = 7;
  ASSERT_EQ(ubt::map_delete(ubt::userbpf_call, chain.array, &key), 0);
  EXPECT_EQ(run_chain(*runtimes[0]).r0, 1006u);
  // An index past the array's end falls through too (program 39 calls slot 40).
  EXPECT_EQ(run_chain(*runtimes[39]).r0, 1039u);
}

TEST(VmJit, TailCallsBetweenJitAndInterpretedPrograms) {
  SKIP_WITHOUT_JIT();
  TailCallChain chain;
  ASSERT_NO_FATAL_FAILURE(make_chain(&chain, 40));
  // Every third program without native code (built while the process ran
  // the interpreter): the chain goes JIT -> interpreter and back.
  std::vector<const Program *> runtimes;
  for (size_t i = 0; i < chain.progs.size(); i++) {
    bool interpreted = i % 3 == 1;
    runtimes.push_back(runtime_with(chain.progs[i], interpreted ? userbpf::ExecutionEngine::kInterpreter
                                                                : userbpf::ExecutionEngine::kJit));
    ASSERT_NE(runtimes.back(), nullptr);
    EXPECT_EQ(runtimes.back()->jit() == nullptr, interpreted) << i;
  }
  for (size_t start : {0, 1, 2, 6}) {
    RunResult r = run_chain(*runtimes[start]);
    ASSERT_EQ(r.err, 0) << r.error;
    EXPECT_EQ(r.r0, 1033u + start) << "from program " << start;
  }
}

TEST(VmJit, TailCallSlotReplacedWhileRunning) {
  SKIP_WITHOUT_JIT();
  ubt::use_private_fs_root();
  long array = ubt::map_create(ubt::userbpf_call, BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2);
  ASSERT_GE(array, 0);
  TailCallChain chain; // closes the array and the caller
  chain.array = static_cast<int>(array);
  int caller = load_socket_filter(tail_caller(chain.array, 1, 1));
  ASSERT_GE(caller, 0);
  chain.progs.push_back(caller);
  const Program *runtime = runtime_with(caller, userbpf::ExecutionEngine::kJit);
  ASSERT_NE(runtime, nullptr);
  ASSERT_NE(runtime->jit(), nullptr);

  std::atomic<bool> stop{false};
  std::atomic<int> unexpected{0};
  std::atomic<uint64_t> runs{0};
  std::thread runner([&] {
    while (!stop.load()) {
      RunResult r = run_chain(*runtime);
      // 1: the slot was empty; 7 and 8: the two kinds of target.
      if (r.err != 0 || (r.r0 != 1 && r.r0 != 7 && r.r0 != 8)) unexpected++;
      runs++;
    }
  });
  // Every target is a new program whose last fd closes at once: only the
  // slot (and a running chain) keeps it alive, so replacing it frees it
  // while the runner may be inside its code.
  const uint32_t key = 1;
  for (int i = 0; i < 300; i++) {
    int target = load_socket_filter({I(0xb7, 0, 0, 0, 7 + i % 2), I(0x95)});
    ASSERT_GE(target, 0);
    ASSERT_NE(runtime_with(target, userbpf::ExecutionEngine::kJit), nullptr); // its code exists before it is used
    uint32_t value = static_cast<uint32_t>(target);
    ASSERT_EQ(ubt::map_update(ubt::userbpf_call, chain.array, &key, &value), 0);
    close(target);
    if (i % 10 == 9) ubt::map_delete(ubt::userbpf_call, chain.array, &key);
  }
  stop = true;
  runner.join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_GT(runs.load(), 0u);
  int target = load_socket_filter({I(0xb7, 0, 0, 0, 8), I(0x95)});
  ASSERT_GE(target, 0);
  uint32_t value = static_cast<uint32_t>(target);
  ASSERT_EQ(ubt::map_update(ubt::userbpf_call, chain.array, &key, &value), 0);
  close(target);
  EXPECT_EQ(run_chain(*runtime).r0, 8u);
}

} // namespace
