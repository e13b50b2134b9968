// Interpreter semantics (the kernel's run-time behaviour) and helpers.
#include <gtest/gtest.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "alloc/rcu.h"
#include "bpf_test_util.h"
#include "helpers/helpers.h"
#include "object/handle.h"
#include "vm/assembler.h"
#include "vm/decoder.h"
#include "vm/interpreter.h"

namespace {

using namespace userbpf::vm;

std::unique_ptr<Program> build(const std::string &text, DecodedProgram *decoded_out = nullptr) {
  std::vector<RawInsn> raw;
  std::string error;
  EXPECT_EQ(assemble(text, &raw, &error), 0) << error;
  DecodedProgram decoded;
  EXPECT_EQ(decode(raw.data(), raw.size(), &decoded, &error), 0) << error;
  std::unique_ptr<Program> prog;
  EXPECT_EQ(Program::create(decoded, &prog, &error), 0) << error;
  if (decoded_out) *decoded_out = decoded;
  return prog;
}

uint64_t run(const std::string &text, uint64_t r1 = 0, uint64_t r2 = 0) {
  auto prog = build(text);
  if (!prog) return 0xdeadbeef;
  RunResult r = prog->run(r1, r2, 1000000);
  EXPECT_EQ(r.err, 0) << r.error;
  return r.r0;
}

TEST(VmInterp, DivisionAndModuloByZero) {
  // div by 0 -> 0; mod by 0 -> dst unchanged (32-bit: upper half zeroed).
  EXPECT_EQ(run("lddw %r0, 0x1234567890\nmov %r1, 0\ndiv %r0, %r1\nexit"), 0u);
  EXPECT_EQ(run("lddw %r0, 0x1234567890\nmov %r1, 0\nmod %r0, %r1\nexit"), 0x1234567890u);
  EXPECT_EQ(run("lddw %r0, 0x1234567890\nmov %r1, 0\nmod32 %r0, %r1\nexit"), 0x34567890u);
  EXPECT_EQ(run("lddw %r0, 0x1234567890\nmov %r1, 0\ndiv32 %r0, %r1\nexit"), 0u);
  EXPECT_EQ(run("lddw %r0, 0x1234567890\nmov %r1, 0\nsdiv %r0, %r1\nexit"), 0u);
  EXPECT_EQ(run("lddw %r0, -7\nmov %r1, 0\nsmod %r0, %r1\nexit"), static_cast<uint64_t>(-7));
  EXPECT_EQ(run("lddw %r0, 0x1fffffff9\nmov %r1, 0\nsmod32 %r0, %r1\nexit"), 0xfffffff9u);
}

TEST(VmInterp, SignedDivisionOverflowDoesNotTrap) {
  EXPECT_EQ(run("lddw %r0, 0x8000000000000000\nsdiv %r0, -1\nexit"), 0x8000000000000000u);
  EXPECT_EQ(run("lddw %r0, 0x8000000000000000\nsmod %r0, -1\nexit"), 0u);
  EXPECT_EQ(run("mov32 %r0, 0x80000000\nsdiv32 %r0, -1\nexit"), 0x80000000u);
  EXPECT_EQ(run("mov32 %r0, 0x80000000\nsmod32 %r0, -1\nexit"), 0u);
  EXPECT_EQ(run("mov %r0, -7\nsdiv %r0, 2\nexit"), static_cast<uint64_t>(-3));
  EXPECT_EQ(run("mov %r0, -7\nsmod %r0, 2\nexit"), static_cast<uint64_t>(-1));
}

TEST(VmInterp, ShiftCountsAreMasked) {
  EXPECT_EQ(run("mov %r0, 1\nmov %r1, 65\nlsh %r0, %r1\nexit"), 2u);
  EXPECT_EQ(run("mov32 %r0, 1\nmov %r1, 33\nlsh32 %r0, %r1\nexit"), 2u);
  EXPECT_EQ(run("mov32 %r0, 0x80000000\narsh32 %r0, 4\nexit"), 0xf8000000u);
  EXPECT_EQ(run("mov %r0, -16\narsh %r0, 2\nexit"), static_cast<uint64_t>(-4));
}

TEST(VmInterp, Alu32ZeroExtendsAndMovsx) {
  EXPECT_EQ(run("mov %r0, -1\nadd32 %r0, 1\nexit"), 0u);
  EXPECT_EQ(run("mov %r1, 0x80\nmovsx864 %r0, %r1\nexit"), 0xffffffffffffff80u);
  EXPECT_EQ(run("mov %r1, 0x80\nmovsx832 %r0, %r1\nexit"), 0xffffff80u);
  EXPECT_EQ(run("mov %r0, -1\nneg32 %r0\nexit"), 1u);
  EXPECT_EQ(run("lddw %r0, 0x1122334455667788\nle16 %r0\nexit"), 0x7788u);
  EXPECT_EQ(run("lddw %r0, 0x1122334455667788\nbe32 %r0\nexit"), 0x88776655u);
}

TEST(VmInterp, BpfToBpfCallsHaveTheirOwnFramesAndKeepCalleeSaved) {
  // The callee writes its own stack and clobbers r6: the caller's stack slot
  // and r6 survive.
  EXPECT_EQ(run(R"(
    mov %r6, 7
    stdw [%r10-8], 100
    call local f
    ldxdw %r1, [%r10-8]
    add %r0, %r1
    add %r0, %r6
    exit
  f:
    stdw [%r10-8], 5
    mov %r6, 1000
    ldxdw %r0, [%r10-8]
    exit)"),
            5u + 100u + 7u);
}

TEST(VmInterp, CallDepthIsLimitedToEightFrames) {
  // Recursion r1 times: 7 nested calls fit (8 frames), 8 do not.
  const char *text = R"(
    mov %r1, %r1
  f:
    jeq %r1, 0, done
    sub %r1, 1
    call local f
  done:
    mov %r0, 1
    exit)";
  auto prog = build(text);
  ASSERT_TRUE(prog);
  EXPECT_EQ(prog->run(7).err, 0);
  RunResult r = prog->run(8);
  EXPECT_EQ(r.err, -E2BIG);
  EXPECT_NE(r.error.find("too deep"), std::string::npos) << r.error;
}

TEST(VmInterp, BudgetStopsLoops) {
  auto prog = build("l: ja l\nexit");
  ASSERT_TRUE(prog);
  RunResult r = prog->run(0, 0, 1000);
  EXPECT_EQ(r.err, -ETIME);
  EXPECT_EQ(r.executed, 1000u);
  auto counted = build("mov %r0, 1\nadd %r0, 2\nexit");
  r = counted->run(0, 0, 100);
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.executed, 3u);
  EXPECT_EQ(r.r0, 3u);
}

TEST(VmInterp, CallxOfASubprogramAddress) {
  // LD_IMM64 of BPF_PSEUDO_FUNC loads the subprogram's address; callx calls it.
  std::vector<RawInsn> raw;
  std::string error;
  ASSERT_EQ(assemble("lddw %r2, 0\ncall %r2\nadd %r0, 1\nexit\nmov %r0, 41\nexit", &raw, &error), 0) << error;
  raw[0].src = static_cast<uint8_t>(Pseudo::kFunc);
  raw[0].imm = 4; // slot 0 + 1 + 4 = slot 5, "mov %r0, 41"
  DecodedProgram decoded;
  ASSERT_EQ(decode(raw.data(), raw.size(), &decoded, &error), 0) << error;
  std::unique_ptr<Program> prog;
  ASSERT_EQ(Program::create(decoded, &prog, &error), 0) << error;
  EXPECT_EQ(prog->run(0).r0, 42u);
  EXPECT_EQ(prog->run(0, 0, 100).r0, 42u); // the budgeted copy rebases the address
  // A value that is neither a subprogram nor a helper stops the program.
  auto bad = build("mov %r2, 100000\ncall %r2\nexit");
  EXPECT_EQ(bad->run(0).err, -EINVAL);
}

TEST(VmInterp, UnresolvedPseudoAndUnknownHelpersAreRejectedAtLoad) {
  std::vector<RawInsn> raw;
  std::string error;
  ASSERT_EQ(assemble("lddw %r1, 0\nexit", &raw, &error), 0);
  raw[0].src = static_cast<uint8_t>(Pseudo::kMapFd);
  DecodedProgram decoded;
  ASSERT_EQ(decode(raw.data(), raw.size(), &decoded, &error), 0) << error;
  std::unique_ptr<Program> prog;
  EXPECT_EQ(Program::create(decoded, &prog, &error), -EINVAL);
  EXPECT_NE(error.find("insn 0: ld_imm64 with src_reg 1 was not resolved"), std::string::npos) << error;
  ASSERT_EQ(assemble("call 12345\nexit", &raw, &error), 0);
  ASSERT_EQ(decode(raw.data(), raw.size(), &decoded, &error), 0) << error;
  EXPECT_EQ(Program::create(decoded, &prog, &error), -EINVAL);
  EXPECT_EQ(error, "insn 0: invalid func unknown#12345");
}

TEST(VmHelpers, TableHasTheKernelIdsAndPrototypes) {
  using userbpf::helpers::ArgType;
  using userbpf::helpers::RetType;
  const auto *lookup = userbpf::helpers::find_helper(1);
  ASSERT_NE(lookup, nullptr);
  EXPECT_EQ(lookup->name, "map_lookup_elem");
  EXPECT_EQ(lookup->ret, RetType::kPtrToMapValueOrNull);
  EXPECT_EQ(lookup->args[0], ArgType::kConstMapPtr);
  EXPECT_EQ(lookup->args[1], ArgType::kPtrToMapKey);
  EXPECT_EQ(userbpf::helpers::find_helper(2)->args[2], ArgType::kPtrToMapValue);
  for (int id : {3, 5, 6, 7, 8}) EXPECT_NE(userbpf::helpers::find_helper(id), nullptr) << id;
  EXPECT_EQ(userbpf::helpers::find_helper(4), nullptr);
  // ktime_get_ns ignores its arguments (conformance call_unwind_fail: r1 = -1).
  EXPECT_GT(run("mov %r1, -1\ncall 5\nexit"), 0u);
  EXPECT_LT(run("call 8\nexit"), 4096u);
}

TEST(VmHelpers, MapHelpersOnARealMap) {
  long fd = ubt::map_create(ubt::userbpf_call, BPF_MAP_TYPE_HASH, 4, 8, 16);
  ASSERT_GE(fd, 0) << strerror(-fd);
  uint64_t map_ptr;
  {
    userbpf::RcuReadGuard guard;
    int err = 0;
    const userbpf::Handle *h = userbpf::handle_get(static_cast<int>(fd), &err);
    ASSERT_NE(h, nullptr) << err;
    map_ptr = reinterpret_cast<uintptr_t>(&h->obj->map); // stays valid while fd is open
  }
  // update(key 3 = 40), lookup(3) -> *value + 2, delete(3), lookup(3) == NULL.
  const char *text = R"(
    lddw %r1, 0
    mov %r6, %r1
    stw [%r10-4], 3
    stdw [%r10-16], 40
    mov %r2, %r10
    add %r2, -4
    mov %r3, %r10
    add %r3, -16
    mov %r4, 0
    call 2
    jne %r0, 0, fail
    mov %r1, %r6
    mov %r2, %r10
    add %r2, -4
    call 1
    jeq %r0, 0, fail
    ldxdw %r7, [%r0]
    add %r7, 2
    mov %r1, %r6
    mov %r2, %r10
    add %r2, -4
    call 3
    jne %r0, 0, fail
    mov %r1, %r6
    mov %r2, %r10
    add %r2, -4
    call 1
    jne %r0, 0, fail
    mov %r0, %r7
    exit
  fail:
    mov %r0, -1
    exit)";
  std::vector<RawInsn> raw;
  std::string error;
  ASSERT_EQ(assemble(text, &raw, &error), 0) << error;
  raw[0].src = static_cast<uint8_t>(Pseudo::kMapFd);
  raw[0].imm = static_cast<int32_t>(fd);
  DecodedProgram decoded;
  ASSERT_EQ(decode(raw.data(), raw.size(), &decoded, &error), 0) << error;
  resolve_ld_imm64(decoded.insns[0], map_ptr); // what the loader will do
  std::unique_ptr<Program> prog;
  ASSERT_EQ(Program::create(decoded, &prog, &error), 0) << error;
  RunResult r = prog->run(0);
  ASSERT_EQ(r.err, 0) << r.error;
  EXPECT_EQ(r.r0, 42u);
  // The element is gone through the syscall side too.
  uint32_t key = 3;
  uint64_t value;
  EXPECT_EQ(ubt::map_lookup(ubt::userbpf_call, static_cast<int>(fd), &key, &value), -ENOENT);
  close(static_cast<int>(fd));
}

std::string g_trace;
void trace_sink(void *, const char *text, size_t len) { g_trace.append(text, len); }

TEST(VmHelpers, TracePrintkGoesToTheHostsSink) {
  userbpf::helpers::set_trace_printk_sink(trace_sink, nullptr);
  // "x=%d %s\n" with -5 and "hi".
  const char *text = R"(
    stw [%r10-16], 0x64253d78
    stw [%r10-12], 0x0a732520
    stb [%r10-8], 0
    stw [%r10-24], 0x6968
    mov %r1, %r10
    add %r1, -16
    mov %r2, 9
    mov %r3, -5
    mov %r4, %r10
    add %r4, -24
    call 6
    exit)";
  g_trace.clear();
  EXPECT_EQ(run(text), 8u);
  EXPECT_EQ(g_trace, "x=-5 hi\n");
  // An unsupported conversion is -EINVAL, nothing printed.
  g_trace.clear();
  EXPECT_EQ(run("stw [%r10-8], 0x006e25\nmov %r1, %r10\nadd %r1, -8\nmov %r2, 3\ncall 6\nexit"),
            static_cast<uint64_t>(-EINVAL));
  EXPECT_EQ(g_trace, "");
  userbpf::helpers::set_trace_printk_sink(nullptr, nullptr);
}

} // namespace
