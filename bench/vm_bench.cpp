// Interpreter benchmarks (Google Benchmark): ns per run and per executed
// instruction of four workloads, each also run by the kernel (BPF_PROG_TEST_RUN
// of the same instructions as a socket filter: JIT if enabled) where bpf() is
// available, for the ratio. Run: <build>/bench/vm_bench ; see docs/BENCHMARKS.md.
#include <benchmark/benchmark.h>

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "vm/assembler.h"
#include "vm/decoder.h"
#include "vm/interpreter.h"

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

void run_vm(benchmark::State &state, const std::string &text) {
  std::vector<RawInsn> raw = assemble_or_die(text);
  DecodedProgram decoded;
  std::string error;
  std::unique_ptr<Program> prog;
  if (decode(raw.data(), raw.size(), &decoded, &error) || Program::create(decoded, &prog, &error)) {
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

void BM_vm_prime(benchmark::State &s) { run_vm(s, kPrime); }
void BM_kernel_prime(benchmark::State &s) { run_kernel(s, kPrime); }
void BM_vm_alu_loop(benchmark::State &s) { run_vm(s, kAluLoop); }
void BM_kernel_alu_loop(benchmark::State &s) { run_kernel(s, kAluLoop); }
void BM_vm_memcpy(benchmark::State &s) { run_vm(s, memcpy_program()); }
void BM_kernel_memcpy(benchmark::State &s) { run_kernel(s, memcpy_program()); }
void BM_vm_helper_loop(benchmark::State &s) { run_vm(s, kHelperLoop); }
void BM_kernel_helper_loop(benchmark::State &s) { run_kernel(s, kHelperLoop); }

BENCHMARK(BM_vm_prime);
BENCHMARK(BM_kernel_prime)->UseManualTime()->Iterations(200);
BENCHMARK(BM_vm_alu_loop);
BENCHMARK(BM_kernel_alu_loop)->UseManualTime()->Iterations(200);
BENCHMARK(BM_vm_memcpy);
BENCHMARK(BM_kernel_memcpy)->UseManualTime()->Iterations(200);
BENCHMARK(BM_vm_helper_loop);
BENCHMARK(BM_kernel_helper_loop)->UseManualTime()->Iterations(200);

} // namespace

BENCHMARK_MAIN();
