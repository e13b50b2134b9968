// VM benchmarks (Google Benchmark): ns per run and per executed instruction of
// four workloads in userbpf's interpreter (BM_vm_*) and JIT (BM_jit_*), each
// also run by the kernel (BM_kernel_*: BPF_PROG_TEST_RUN of the same
// instructions as a socket filter, JIT if enabled) where bpf() is available,
// and as the same algorithm in C compiled -O2 (BM_c_*), for the ratios; and
// the JIT's compile time per instruction (BM_jit_compile*).
// Run: <build>/bench/vm_bench ; see docs/BENCHMARKS.md.
#include <benchmark/benchmark.h>

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "helpers/helpers.h"
#include "vm/assembler.h"
#include "vm/decoder.h"
#include "vm/interpreter.h"
#include "vm/jit_x86_64.h"

namespace {

using namespace userbpf::vm;

// conformance prime.data: is 67 prime (trial division, ~460 instructions).
const char *kPrime = R"(
mov %r1, 67
mov %r0, 0x1
mov %r2, 0x2
jgt %r1, 0x2, L3
ja exit
L2:
add %r2, 0x1
mov %r0, 0x1
jge %r2, %r1, exit
L3:
mov %r3, %r1
div %r3, %r2
mul %r3, %r2
mov %r4, %r1
sub %r4, %r3
mov %r0, 0x0
jne %r4, 0x0, L2
exit
)";

// 1000 iterations of an ALU mix.
const char *kAluLoop = R"(
mov %r0, 0
mov %r6, 1000
loop:
add %r0, %r6
xor %r0, 0x5a5a
lsh %r0, 3
rsh %r0, 1
mul32 %r0, 7
sub %r6, 1
jne %r6, 0, loop
exit
)";

// The fixed cost of one run (entry, RCU read-side section, result).
const char *kEmpty = "mov %r0, 1\nexit\n";

// 100 helper calls (bpf_get_smp_processor_id).
const char *kHelperLoop = R"(
mov %r6, 100
mov %r7, 0
loop:
call 8
add %r7, %r0
sub %r6, 1
jne %r6, 0, loop
mov %r0, %r7
exit
)";

// Copy 256 bytes of stack 4 times, 8 bytes at a time (straight-line, as a
// compiler unrolls a fixed-size memcpy).
std::string memcpy_program() {
  std::string s;
  for (int i = 0; i < 32; i++) s += "stdw [%r10-" + std::to_string(512 - 8 * i) + "], " + std::to_string(i) + "\n";
  for (int round = 0; round < 4; round++)
    for (int i = 0; i < 32; i++) {
      s += "ldxdw %r1, [%r10-" + std::to_string(512 - 8 * i) + "]\n";
      s += "stxdw [%r10-" + std::to_string(256 - 8 * i) + "], %r1\n";
    }
  s += "ldxdw %r0, [%r10-8]\nexit\n";
  return s;
}

std::vector<RawInsn> assemble_or_die(const std::string &text) {
  std::vector<RawInsn> raw;
  std::string error;
  if (assemble(text, &raw, &error) != 0) {
    fprintf(stderr, "vm_bench: %s\n", error.c_str());
    abort();
  }
  return raw;
}

void run_vm(benchmark::State &state, const std::string &text, Engine engine = Engine::kInterpreter) {
  std::vector<RawInsn> raw = assemble_or_die(text);
  DecodedProgram decoded;
  std::string error;
  std::unique_ptr<Program> prog;
  ProgramOptions options;
  options.engine = engine;
  if (engine == Engine::kJit && !jit_supported()) {
    state.SkipWithError("no JIT for this CPU");
    return;
  }
  if (decode(raw.data(), raw.size(), &decoded, &error) || Program::create(decoded, &prog, &error, options)) {
    state.SkipWithError(error.c_str());
    return;
  }
  const uint64_t insns = prog->run(0, 0, UINT64_MAX).executed;
  uint8_t ctx[64] = {};
  for (auto _ : state) {
    RunResult r = prog->run(reinterpret_cast<uintptr_t>(ctx), sizeof ctx);
    benchmark::DoNotOptimize(r.r0);
  }
  state.counters["insns"] = static_cast<double>(insns);
  state.counters["per_insn"] = benchmark::Counter(static_cast<double>(insns),
                                                  benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

long sys_bpf(int cmd, union bpf_attr *attr) { return syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }

// The same program in the kernel: per-run time as BPF_PROG_TEST_RUN reports it.
void run_kernel(benchmark::State &state, const std::string &text) {
  std::vector<RawInsn> raw = assemble_or_die(text);
  static char license[] = "GPL";
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = reinterpret_cast<uintptr_t>(raw.data());
  attr.insn_cnt = static_cast<uint32_t>(raw.size());
  attr.license = reinterpret_cast<uintptr_t>(license);
  int fd = static_cast<int>(sys_bpf(BPF_PROG_LOAD, &attr));
  if (fd < 0) {
    state.SkipWithError(("kernel BPF_PROG_LOAD: " + std::string(strerror(errno))).c_str());
    return;
  }
  uint8_t packet[64] = {};
  const uint32_t repeat = 1000;
  for (auto _ : state) {
    memset(&attr, 0, sizeof attr);
    attr.test.prog_fd = static_cast<uint32_t>(fd);
    attr.test.data_in = reinterpret_cast<uintptr_t>(packet);
    attr.test.data_size_in = sizeof packet;
    attr.test.repeat = repeat;
    if (sys_bpf(BPF_PROG_TEST_RUN, &attr) != 0) {
      state.SkipWithError(("kernel BPF_PROG_TEST_RUN: " + std::string(strerror(errno))).c_str());
      break;
    }
    // Each iteration runs the program `repeat` times in the kernel and counts
    // as one run of the average duration (hence the fixed iteration count).
    state.SetIterationTime(attr.test.duration * 1e-9);
  }
  close(fd);
}

// ---- the same algorithms in C (-O2), inputs hidden from the optimizer.

uint64_t c_prime(uint64_t n) {
  uint64_t r0 = 1;
  for (uint64_t d = 2; d < n; d++) {
    uint64_t rem = n - n / d * d;
    if (rem == 0) return 0;
  }
  return r0;
}

uint64_t c_alu_loop(uint64_t iterations) {
  uint64_t r0 = 0;
  for (uint64_t r6 = iterations; r6 != 0; r6--) {
    r0 += r6;
    r0 ^= 0x5a5a;
    r0 <<= 3;
    r0 >>= 1;
    r0 = static_cast<uint32_t>(static_cast<uint32_t>(r0) * 7u);
  }
  return r0;
}

uint64_t c_memcpy() {
  uint64_t stack[64];
  for (uint64_t i = 0; i < 32; i++) stack[i] = i;
  for (int round = 0; round < 4; round++) {
    benchmark::DoNotOptimize(stack);
    for (int i = 0; i < 32; i++) stack[32 + i] = stack[i];
    benchmark::ClobberMemory();
  }
  return stack[63];
}

uint64_t c_helper_loop(userbpf::helpers::HelperFn fn, int calls) {
  uint64_t r7 = 0;
  for (int i = 0; i < calls; i++) r7 += fn(0, 0, 0, 0, 0);
  return r7;
}

void BM_c_prime(benchmark::State &state) {
  uint64_t n = 67;
  for (auto _ : state) {
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(c_prime(n));
  }
}
void BM_c_alu_loop(benchmark::State &state) {
  uint64_t n = 1000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(c_alu_loop(n));
  }
}
void BM_c_memcpy(benchmark::State &state) {
  for (auto _ : state) benchmark::DoNotOptimize(c_memcpy());
}
void BM_c_helper_loop(benchmark::State &state) {
  userbpf::helpers::HelperFn fn = userbpf::helpers::find_helper(8)->fn; // get_smp_processor_id
  for (auto _ : state) {
    benchmark::DoNotOptimize(fn);
    benchmark::DoNotOptimize(c_helper_loop(fn, 100));
  }
}

// JIT compile time per instruction (code mapped and protected included): a
// straight-line program (the memcpy one) and a loop-heavy one (ALU loops with
// jumps to lay out), state.range(0) copies.
void run_jit_compile(benchmark::State &state, const std::string &unit) {
  if (!jit_supported()) {
    state.SkipWithError("no JIT for this CPU");
    return;
  }
  std::string text;
  for (int64_t i = 0; i < state.range(0); i++) {
    std::string copy = unit;
    // Labels must be unique per copy; the last exit ends the program.
    for (size_t at = copy.find("loop"); at != std::string::npos; at = copy.find("loop", at + 1))
      copy.insert(at + 4, std::to_string(i)), at += std::to_string(i).size();
    text += copy;
  }
  std::vector<RawInsn> raw = assemble_or_die(text);
  DecodedProgram decoded;
  std::string error;
  if (decode(raw.data(), raw.size(), &decoded, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) {
    std::unique_ptr<JitImage> image;
    if (JitImage::compile(decoded, JitOptions{}, &image, &error)) {
      state.SkipWithError(error.c_str());
      break;
    }
    benchmark::DoNotOptimize(image->code());
  }
  state.counters["insns"] = static_cast<double>(raw.size());
  state.counters["per_insn"] = benchmark::Counter(static_cast<double>(raw.size()),
                                                  benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_jit_compile_straight(benchmark::State &s) { run_jit_compile(s, memcpy_program()); }
void BM_jit_compile_loops(benchmark::State &s) { run_jit_compile(s, kAluLoop); }

void BM_vm_empty(benchmark::State &s) { run_vm(s, kEmpty); }
void BM_jit_empty(benchmark::State &s) { run_vm(s, kEmpty, Engine::kJit); }
void BM_kernel_empty(benchmark::State &s) { run_kernel(s, kEmpty); }
void BM_vm_prime(benchmark::State &s) { run_vm(s, kPrime); }
void BM_jit_prime(benchmark::State &s) { run_vm(s, kPrime, Engine::kJit); }
void BM_jit_alu_loop(benchmark::State &s) { run_vm(s, kAluLoop, Engine::kJit); }
void BM_jit_memcpy(benchmark::State &s) { run_vm(s, memcpy_program(), Engine::kJit); }
void BM_jit_helper_loop(benchmark::State &s) { run_vm(s, kHelperLoop, Engine::kJit); }
void BM_kernel_prime(benchmark::State &s) { run_kernel(s, kPrime); }
void BM_vm_alu_loop(benchmark::State &s) { run_vm(s, kAluLoop); }
void BM_kernel_alu_loop(benchmark::State &s) { run_kernel(s, kAluLoop); }
void BM_vm_memcpy(benchmark::State &s) { run_vm(s, memcpy_program()); }
void BM_kernel_memcpy(benchmark::State &s) { run_kernel(s, memcpy_program()); }
void BM_vm_helper_loop(benchmark::State &s) { run_vm(s, kHelperLoop); }
void BM_kernel_helper_loop(benchmark::State &s) { run_kernel(s, kHelperLoop); }

BENCHMARK(BM_vm_empty);
BENCHMARK(BM_jit_empty);
BENCHMARK(BM_kernel_empty)->UseManualTime()->Iterations(200);
BENCHMARK(BM_vm_prime);
BENCHMARK(BM_jit_prime);
BENCHMARK(BM_kernel_prime)->UseManualTime()->Iterations(200);
BENCHMARK(BM_c_prime);
BENCHMARK(BM_vm_alu_loop);
BENCHMARK(BM_jit_alu_loop);
BENCHMARK(BM_kernel_alu_loop)->UseManualTime()->Iterations(200);
BENCHMARK(BM_c_alu_loop);
BENCHMARK(BM_vm_memcpy);
BENCHMARK(BM_jit_memcpy);
BENCHMARK(BM_kernel_memcpy)->UseManualTime()->Iterations(200);
BENCHMARK(BM_c_memcpy);
BENCHMARK(BM_vm_helper_loop);
BENCHMARK(BM_jit_helper_loop);
BENCHMARK(BM_kernel_helper_loop)->UseManualTime()->Iterations(200);
BENCHMARK(BM_c_helper_loop);
BENCHMARK(BM_jit_compile_straight)->Arg(1)->Arg(16);
BENCHMARK(BM_jit_compile_loops)->Arg(1)->Arg(64);

} // namespace

BENCHMARK_MAIN();
