// bpf_loop (helper 181) at run time, in every engine: the interpreter, its
// instruction-counting copy, the JIT and the JIT with constant blinding must
// all give the kernel's semantics (kernel/bpf/bpf_iter.c): -EINVAL for
// flags, -E2BIG past 1 << 23 iterations, the callback called with (index,
// ctx) until it returns non-zero, r0 = the iterations run; the caller's
// r6-r9 and stack survive, callbacks nest, and the 8-frame limit counts the
// callback's frame. The programs are raw (unverified) instructions, so the
// run-time checks for a bad callback address are tested here too.
//
// bpf_for_each_map_elem (helper 164) likewise, on real maps made through
// userbpf's bpf(): the callback gets (map, key, value, ctx) per element
// (arrays in index order), r0 = the elements visited, a return of 1 stops
// the walk, flags give -EINVAL, and the callback may write values and
// delete elements, the current one included (kernel/bpf/arraymap.c,
// hashtab.c: bpf_for_each_array_elem, bpf_for_each_hash_elem).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
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
#include "vm/jit_x86_64.h"

namespace {

using namespace userbpf::vm;
namespace helpers = userbpf::helpers;

struct EngineCase {
  const char *name;
  Engine engine;
  bool blind;
  uint64_t budget; // > 0: the counting interpreter
};

std::vector<EngineCase> engines() {
  std::vector<EngineCase> out = {{"interpreter", Engine::kInterpreter, false, 0},
                                 {"budgeted interpreter", Engine::kInterpreter, false, 1u << 30}};
  if (jit_supported()) {
    out.push_back({"jit", Engine::kJit, false, 0});
    out.push_back({"blinded jit", Engine::kJit, true, 0});
  }
  return out;
}

// Assemble, build for the engine and run with r1 = r1. With a map, the
// program's first instruction (an LD_IMM64) loads that map's pointer, as
// the loader resolves a map fd.
RunResult run_in(const EngineCase &e, const std::string &text, uint64_t r1 = 0, uint64_t map = 0) {
  std::vector<RawInsn> raw;
  std::string error;
  EXPECT_EQ(assemble(text, &raw, &error), 0) << error;
  DecodedProgram decoded;
  EXPECT_EQ(decode(raw.data(), raw.size(), &decoded, &error), 0) << error;
  if (map) resolve_ld_imm64(decoded.insns[0], map);
  ProgramOptions options;
  options.engine = e.engine;
  options.jit.blind_constants = e.blind;
  std::unique_ptr<Program> prog;
  EXPECT_EQ(Program::create(decoded, &prog, &error, options), 0) << error;
  if (!prog) return {-1, 0, 0, "not built"};
  return prog->run(r1, 0, e.budget);
}

// r0 = iterations << 32 | the sum of the indexes the callback saw (kept in
// the caller's stack through ctx); r1 = nr_loops, r6 = flags, r7 = the index
// at which the callback returns 1.
const char *kSumProgram = R"(
    mov %r6, 0
    mov %r7, 1000000000
    stdw [%r10-8], 0
    stxdw [%r10-16], %r7
    lddw %r2, func:cb
    mov %r3, %r10
    add %r3, -16
    mov %r4, %r6
    call 181
    lsh %r0, 32
    ldxdw %r1, [%r10-8]
    or %r0, %r1
    exit
  cb:
    ldxdw %r3, [%r2+0]
    jge %r1, %r3, stop
    ldxdw %r4, [%r2+8]
    add %r4, %r1
    stxdw [%r2+8], %r4
    mov %r0, 0
    exit
  stop:
    mov %r0, 1
    exit)";

std::string with(const char *text, const std::string &from, const std::string &to) {
  std::string s = text;
  s.replace(s.find(from), from.size(), to);
  return s;
}

TEST(VmCallbacks, LoopRunsTheCallbackWithIndexAndContext) {
  for (const EngineCase &e : engines()) {
    RunResult r = run_in(e, kSumProgram, 10);
    ASSERT_EQ(r.err, 0) << e.name << ": " << r.error;
    EXPECT_EQ(r.r0, 10ull << 32 | 45) << e.name; // 0 + 1 + ... + 9
    r = run_in(e, kSumProgram, 0);
    EXPECT_EQ(r.r0, 0u) << e.name << ": no iteration, nothing written";
    // nr_loops is a u32: the upper half of r1 is ignored.
    r = run_in(e, kSumProgram, 0x500000003ull);
    EXPECT_EQ(r.r0, 3ull << 32 | 3) << e.name;
  }
}

TEST(VmCallbacks, LoopStopsWhenTheCallbackReturnsOne) {
  // Stopped at index 4: 5 iterations (the kernel returns i + 1), indexes 0..3 summed.
  const std::string stop_at_4 = with(kSumProgram, "mov %r7, 1000000000", "mov %r7, 4");
  for (const EngineCase &e : engines()) {
    RunResult r = run_in(e, stop_at_4, 100);
    ASSERT_EQ(r.err, 0) << e.name << ": " << r.error;
    EXPECT_EQ(r.r0, 5ull << 32 | 6) << e.name;
    r = run_in(e, stop_at_4, 4); // the loop ends before the stop
    EXPECT_EQ(r.r0, 4ull << 32 | 6) << e.name;
  }
}

TEST(VmCallbacks, LoopChecksFlagsThenTheCount) {
  const std::string flags = with(kSumProgram, "mov %r6, 0", "mov %r6, 1");
  const std::string stop_at_0 = with(kSumProgram, "mov %r7, 1000000000", "mov %r7, 0");
  for (const EngineCase &e : engines()) {
    // flags != 0: -EINVAL before anything runs (even with a bad count).
    RunResult r = run_in(e, flags, 3);
    EXPECT_EQ(r.r0, static_cast<uint64_t>(-EINVAL) << 32) << e.name;
    r = run_in(e, flags, (1u << 23) + 1);
    EXPECT_EQ(r.r0, static_cast<uint64_t>(-EINVAL) << 32) << e.name;
    // More than BPF_MAX_LOOPS: -E2BIG; exactly that many is allowed.
    r = run_in(e, kSumProgram, helpers::kMaxLoops + 1);
    EXPECT_EQ(r.r0, static_cast<uint64_t>(-E2BIG) << 32) << e.name;
    r = run_in(e, stop_at_0, helpers::kMaxLoops);
    EXPECT_EQ(r.r0, 1ull << 32) << e.name;
  }
}

TEST(VmCallbacks, CallerKeepsItsRegistersAndStack) {
  // The callback clobbers r6-r9 and its own stack; the caller's survive.
  const char *text = R"(
    mov %r6, 6
    mov %r7, 7
    mov %r8, 8
    mov %r9, 9
    stdw [%r10-8], 1000
    mov %r1, 3
    lddw %r2, func:cb
    mov %r3, 0
    mov %r4, 0
    call 181
    add %r0, %r6
    add %r0, %r7
    add %r0, %r8
    add %r0, %r9
    ldxdw %r1, [%r10-8]
    add %r0, %r1
    exit
  cb:
    mov %r6, 600
    mov %r7, 700
    mov %r8, 800
    mov %r9, 900
    stdw [%r10-8], 5
    mov %r0, 0
    exit)";
  for (const EngineCase &e : engines()) {
    RunResult r = run_in(e, text);
    ASSERT_EQ(r.err, 0) << e.name << ": " << r.error;
    EXPECT_EQ(r.r0, 3u + 6 + 7 + 8 + 9 + 1000) << e.name;
  }
}

TEST(VmCallbacks, NestedLoopsAndCallsFromCallbacks) {
  // 4 outer iterations, each running 3 inner ones that call a subprogram
  // adding to a counter in the main program's stack.
  const char *text = R"(
    stdw [%r10-8], 0
    mov %r1, 4
    lddw %r2, func:outer
    mov %r3, %r10
    add %r3, -8
    mov %r4, 0
    call 181
    lsh %r0, 32
    ldxdw %r1, [%r10-8]
    or %r0, %r1
    exit
  outer:
    mov %r3, %r2
    mov %r1, 3
    lddw %r2, func:inner
    mov %r4, 0
    call 181
    mov %r0, 0
    exit
  inner:
    mov %r1, %r2
    call local bump
    mov %r0, 0
    exit
  bump:
    ldxdw %r2, [%r1+0]
    add %r2, 1
    stxdw [%r1+0], %r2
    exit)";
  for (const EngineCase &e : engines()) {
    RunResult r = run_in(e, text);
    ASSERT_EQ(r.err, 0) << e.name << ": " << r.error;
    EXPECT_EQ(r.r0, 4ull << 32 | 12) << e.name;
  }
}

TEST(VmCallbacks, TheCallbacksFrameCountsTowardsTheLimitOfEight) {
  // main -> callback -> r1 levels of recursion: 6 fit in 8 frames, 7 do not.
  const char *text = R"(
    mov %r6, %r1
    stxdw [%r10-8], %r6
    mov %r1, 1
    lddw %r2, func:cb
    mov %r3, %r10
    add %r3, -8
    mov %r4, 0
    call 181
    exit
  cb:
    ldxdw %r1, [%r2+0]
    call local f
    mov %r0, 0
    exit
  f:
    jeq %r1, 0, done
    sub %r1, 1
    call local f
  done:
    mov %r0, 0
    exit)";
  for (const EngineCase &e : engines()) {
    RunResult r = run_in(e, text, 5);
    EXPECT_EQ(r.err, 0) << e.name << ": " << r.error;
    EXPECT_EQ(r.r0, 1u) << e.name;
    r = run_in(e, text, 6);
    EXPECT_EQ(r.err, -E2BIG) << e.name;
    EXPECT_EQ(r.error, "the call stack of 9 frames is too deep (max 8)") << e.name;
  }
}

TEST(VmCallbacks, AnAddressThatIsNoSubprogramStopsTheRun) {
  // Only unverified code can pass one: the run stops with EINVAL.
  for (const EngineCase &e : engines()) {
    RunResult r = run_in(e, "mov %r1, 3\nmov %r2, 12345\nmov %r3, 0\nmov %r4, 0\ncall 181\nexit");
    EXPECT_EQ(r.err, -EINVAL) << e.name;
    // Flags and count are checked before the address, as the kernel's helper never looks at it then.
    r = run_in(e, "mov %r1, 0\nmov %r2, 12345\nmov %r3, 0\nmov %r4, 0\ncall 181\nexit");
    EXPECT_EQ(r.err, 0) << e.name;
    EXPECT_EQ(r.r0, 0u) << e.name;
  }
}

TEST(VmCallbacks, BudgetCountsTheCallbacksInstructions) {
  EngineCase counting{"budgeted interpreter", Engine::kInterpreter, false, 1u << 30};
  RunResult r = run_in(counting, kSumProgram, 10);
  ASSERT_EQ(r.err, 0) << r.error;
  // 13 instructions around the call (the LD_IMM64 counts once), 10 x 7 in the callback.
  EXPECT_EQ(r.executed, 13u + 10 * 7);
  counting.budget = 30;
  r = run_in(counting, kSumProgram, 10);
  EXPECT_EQ(r.err, -ETIME);
}

// ---- bpf_for_each_map_elem

// A map made through userbpf's bpf(), and the pointer its LD_IMM64 loads.
struct TestMap {
  int fd = -1;
  uint64_t ptr = 0;
  TestMap(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t entries) {
    long r = ubt::map_create(ubt::userbpf_call, type, key_size, value_size, entries);
    EXPECT_GE(r, 0) << strerror(static_cast<int>(-r));
    if (r < 0) return;
    fd = static_cast<int>(r);
    userbpf::RcuReadGuard guard;
    int err = 0;
    const userbpf::Handle *h = userbpf::handle_get(fd, &err);
    EXPECT_NE(h, nullptr) << err;
    if (h) ptr = reinterpret_cast<uintptr_t>(&h->obj->map); // valid while fd is open
  }
  ~TestMap() {
    if (fd >= 0) close(fd);
  }
  void put(uint32_t key, uint64_t value) { EXPECT_EQ(ubt::map_update(ubt::userbpf_call, fd, &key, &value), 0); }
  uint64_t get(uint32_t key) {
    uint64_t value = 0;
    EXPECT_EQ(ubt::map_lookup(ubt::userbpf_call, fd, &key, &value), 0) << key;
    return value;
  }
  bool has(uint32_t key) {
    uint64_t value;
    return ubt::map_lookup(ubt::userbpf_call, fd, &key, &value) == 0;
  }
};

// r0 = visited << 48 | (sum of values & 0xffff) << 32 | keys in visit order
// as decimal digits (ctx: sum, digits, the key at which the callback
// returns 1). r6-r9 are checked to survive the call (else r0 = -2).
std::string walk_program(int64_t stop_key, int64_t flags) {
  return R"(
    lddw %r1, 0
    stdw [%r10-24], 0
    stdw [%r10-16], 0
    stdw [%r10-8], )" + std::to_string(stop_key) + R"(
    lddw %r2, func:cb
    mov %r3, %r10
    add %r3, -24
    mov %r4, )" + std::to_string(flags) + R"(
    mov %r6, 6
    mov %r7, 7
    mov %r8, 8
    mov %r9, 9
    call 164
    jne %r6, 6, clobbered
    jne %r7, 7, clobbered
    jne %r8, 8, clobbered
    jne %r9, 9, clobbered
    jslt %r0, 0, done
    lsh %r0, 48
    ldxdw %r1, [%r10-24]
    and %r1, 0xffff
    lsh %r1, 32
    or %r0, %r1
    ldxdw %r1, [%r10-16]
    or %r0, %r1
  done:
    exit
  clobbered:
    mov %r0, -2
    exit
  cb:
    mov %r6, 66
    ldxdw %r5, [%r3+0]
    ldxdw %r0, [%r4+0]
    add %r0, %r5
    stxdw [%r4+0], %r0
    ldxw %r5, [%r2+0]
    ldxdw %r0, [%r4+8]
    mul %r0, 10
    add %r0, %r5
    stxdw [%r4+8], %r0
    ldxdw %r0, [%r4+16]
    jeq %r0, %r5, stop
    mov %r0, 0
    exit
  stop:
    mov %r0, 1
    exit)";
}

uint64_t walk_result(uint64_t visited, uint64_t sum, uint64_t digits) { return visited << 48 | sum << 32 | digits; }

TEST(VmForEach, ArrayWalksEveryIndexInOrder) {
  TestMap array(BPF_MAP_TYPE_ARRAY, 4, 8, 6);
  for (uint32_t i = 0; i < 6; i++) array.put(i, 10 * i);
  for (const EngineCase &e : engines()) {
    RunResult r = run_in(e, walk_program(-1, 0), 0, array.ptr);
    ASSERT_EQ(r.err, 0) << e.name << ": " << r.error;
    EXPECT_EQ(r.r0, walk_result(6, 150, 12345)) << e.name; // keys 0,1,2,3,4,5
  }
}

TEST(VmForEach, ReturningOneStopsAndCountsThatElement) {
  TestMap array(BPF_MAP_TYPE_ARRAY, 4, 8, 6);
  for (uint32_t i = 0; i < 6; i++) array.put(i, i + 1);
  for (const EngineCase &e : engines()) {
    RunResult r = run_in(e, walk_program(2, 0), 0, array.ptr);
    ASSERT_EQ(r.err, 0) << e.name << ": " << r.error;
    EXPECT_EQ(r.r0, walk_result(3, 1 + 2 + 3, 12)) << e.name;
  }
}

TEST(VmForEach, FlagsAreRefusedAndAnEmptyHashVisitsNothing) {
  TestMap array(BPF_MAP_TYPE_ARRAY, 4, 8, 2);
  TestMap hash(BPF_MAP_TYPE_HASH, 4, 8, 8);
  for (const EngineCase &e : engines()) {
    RunResult r = run_in(e, walk_program(-1, 1), 0, array.ptr);
    ASSERT_EQ(r.err, 0) << e.name << ": " << r.error;
    EXPECT_EQ(static_cast<int64_t>(r.r0), -EINVAL) << e.name;
    r = run_in(e, walk_program(-1, 0), 0, hash.ptr);
    ASSERT_EQ(r.err, 0) << e.name << ": " << r.error;
    EXPECT_EQ(r.r0, 0u) << e.name;
  }
}

TEST(VmForEach, HashVisitsEveryElementOnce) {
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH}) {
    TestMap hash(type, 4, 8, 64);
    for (uint32_t k = 1; k <= 9; k++) hash.put(k, k);
    for (const EngineCase &e : engines()) {
      RunResult r = run_in(e, walk_program(-1, 0), 0, hash.ptr);
      ASSERT_EQ(r.err, 0) << e.name << ": " << r.error;
      EXPECT_EQ(r.r0 >> 48, 9u) << e.name;
      EXPECT_EQ(r.r0 >> 32 & 0xffff, 45u) << e.name;
      // Every key once, in some order: the digits are a permutation of 1..9.
      std::string digits = std::to_string(r.r0 & 0xffffffff);
      std::sort(digits.begin(), digits.end());
      EXPECT_EQ(digits, "123456789") << e.name;
    }
  }
}

TEST(VmForEach, CallbackDeletesTheCurrentElementAndWritesValues) {
  // The callback doubles the value, then deletes the element if its key is
  // odd (bpf_map_delete_elem through the map pointer it was given); r0 =
  // the elements visited.
  const char *text = R"(
    lddw %r1, 0
    lddw %r2, func:cb
    mov %r3, 0
    mov %r4, 0
    call 164
    exit
  cb:
    ldxdw %r5, [%r3+0]
    lsh %r5, 1
    stxdw [%r3+0], %r5
    ldxw %r5, [%r2+0]
    and %r5, 1
    jeq %r5, 0, keep
    call 3
  keep:
    mov %r0, 0
    exit)";
  for (const EngineCase &e : engines()) {
    TestMap hash(BPF_MAP_TYPE_HASH, 4, 8, 32);
    for (uint32_t k = 1; k <= 20; k++) hash.put(k, 100 + k);
    RunResult r = run_in(e, text, 0, hash.ptr);
    ASSERT_EQ(r.err, 0) << e.name << ": " << r.error;
    EXPECT_EQ(r.r0, 20u) << e.name;
    for (uint32_t k = 1; k <= 20; k++) {
      EXPECT_EQ(hash.has(k), k % 2 == 0) << e.name << " key " << k;
      if (k % 2 == 0) {
        EXPECT_EQ(hash.get(k), 2 * (100 + k)) << e.name << " key " << k;
      }
    }
  }
}

TEST(VmForEach, PerCpuMapsGiveThisCpusValue) {
  const uint32_t ncpus = userbpf::possible_cpus();
  for (uint32_t type : {BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH}) {
    TestMap map(type, 4, 8, 4);
    for (uint32_t k = 0; k < 4; k++) {
      std::vector<uint64_t> values(ncpus, k + 1); // the same on every CPU, whichever runs the program
      EXPECT_EQ(ubt::map_update(ubt::userbpf_call, map.fd, &k, values.data()), 0);
    }
    for (const EngineCase &e : engines()) {
      RunResult r = run_in(e, walk_program(-1, 0), 0, map.ptr);
      ASSERT_EQ(r.err, 0) << e.name << ": " << r.error;
      EXPECT_EQ(r.r0 >> 48, 4u) << e.name;
      EXPECT_EQ(r.r0 >> 32 & 0xffff, 10u) << e.name;
    }
  }
}

TEST(VmForEach, UnverifiedCodeGetsErrorsNotCrashes) {
  // A program array has no for_each: r0 = -EINVAL. A callback address that
  // is no subprogram stops the run, as for bpf_loop.
  TestMap progs(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2);
  TestMap array(BPF_MAP_TYPE_ARRAY, 4, 8, 2);
  for (const EngineCase &e : engines()) {
    RunResult r = run_in(e, walk_program(-1, 0), 0, progs.ptr);
    ASSERT_EQ(r.err, 0) << e.name << ": " << r.error;
    EXPECT_EQ(static_cast<int64_t>(r.r0), -EINVAL) << e.name;
    r = run_in(e, "lddw %r1, 0\nmov %r2, 12345\nmov %r3, 0\nmov %r4, 0\ncall 164\nexit", 0, array.ptr);
    EXPECT_EQ(r.err, -EINVAL) << e.name;
  }
}

TEST(VmForEach, BudgetCountsTheCallbacksInstructions) {
  TestMap array(BPF_MAP_TYPE_ARRAY, 4, 8, 5);
  const char *text = R"(
    lddw %r1, 0
    lddw %r2, func:cb
    mov %r3, 0
    mov %r4, 0
    call 164
    exit
  cb:
    mov %r0, 0
    exit)";
  EngineCase counting{"budgeted interpreter", Engine::kInterpreter, false, 1u << 30};
  RunResult r = run_in(counting, text, 0, array.ptr);
  ASSERT_EQ(r.err, 0) << r.error;
  EXPECT_EQ(r.r0, 5u);
  EXPECT_EQ(r.executed, 6u + 5 * 2); // the LD_IMM64s count once
}

} // namespace
