// BPF_PROG_TEST_RUN overhead: an empty program (r0 = verdict; exit), XDP and
// socket filter, run through userbpf_bpf() and, side by side in the same run,
// through the kernel's bpf() (skipped where it is unavailable).
//
//   *_syscall/repeat:1       wall time of one BPF_PROG_TEST_RUN call running
//                            the program once (the fixed cost a caller pays)
//   *_per_run/repeat:1000000 one call running it 10^6 times; per_run_ns is the
//                            call's own `duration` (average ns per run)
//
// Rerun: cmake --build build --target test_run_bench && build/bench/test_run_bench
// (docs/BENCHMARKS.md has the figures.)
#include <benchmark/benchmark.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <linux/bpf.h>
#include <userbpf/bpf.h>

#include "kernel_bpf.h"

namespace {

using Fn = long (*)(int, union bpf_attr *, unsigned int);

int load_empty(Fn fn, uint32_t type, int32_t verdict) {
  const struct bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, verdict},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = type;
  a.insns = reinterpret_cast<uintptr_t>(insns);
  a.insn_cnt = 2;
  a.license = reinterpret_cast<uintptr_t>("GPL");
  return static_cast<int>(fn(BPF_PROG_LOAD, &a, sizeof(a)));
}

// A 64-byte IPv4 frame.
std::vector<uint8_t> frame() {
  std::vector<uint8_t> f(64, 0);
  memset(f.data(), 0xff, 6);
  f[12] = 0x08;
  f[14] = 0x45;
  return f;
}

void run(benchmark::State &state, Fn fn, uint32_t type) {
  int fd = load_empty(fn, type, type == BPF_PROG_TYPE_XDP ? 2 : 0);
  if (fd < 0) {
    state.SkipWithError(("load failed: " + std::string(strerror(errno))).c_str());
    return;
  }
  const uint32_t repeat = static_cast<uint32_t>(state.range(0));
  std::vector<uint8_t> in = frame(), out(256);
  union bpf_attr a;
  uint64_t duration_sum = 0, calls = 0;
  for (auto _ : state) {
    memset(&a, 0, sizeof(a));
    a.test.prog_fd = static_cast<uint32_t>(fd);
    a.test.data_in = reinterpret_cast<uintptr_t>(in.data());
    a.test.data_size_in = static_cast<uint32_t>(in.size());
    a.test.data_out = reinterpret_cast<uintptr_t>(out.data());
    a.test.data_size_out = static_cast<uint32_t>(out.size());
    a.test.repeat = repeat;
    if (fn(BPF_PROG_TEST_RUN, &a, sizeof(a)) < 0) {
      state.SkipWithError(("test run failed: " + std::string(strerror(errno))).c_str());
      break;
    }
    duration_sum += a.test.duration;
    calls++;
  }
  if (calls) state.counters["per_run_ns"] = static_cast<double>(duration_sum) / static_cast<double>(calls);
  close(fd);
}

bool kernel_available() {
  int fd = load_empty(kernel_bpf, BPF_PROG_TYPE_SOCKET_FILTER, 0);
  if (fd < 0) return false;
  close(fd);
  return true;
}

void register_side(const char *side, Fn fn) {
  for (uint32_t type : {BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SOCKET_FILTER}) {
    std::string base = std::string(side) + (type == BPF_PROG_TYPE_XDP ? "/xdp" : "/socket_filter");
    benchmark::RegisterBenchmark((base + "_syscall").c_str(), [fn, type](benchmark::State &s) { run(s, fn, type); })
        ->Arg(1);
    benchmark::RegisterBenchmark((base + "_per_run").c_str(), [fn, type](benchmark::State &s) { run(s, fn, type); })
        ->Arg(1000000)
        ->Iterations(3)
        ->Unit(benchmark::kMillisecond);
  }
}

} // namespace

int main(int argc, char **argv) {
  register_side("userbpf", userbpf_bpf);
  if (kernel_available()) register_side("kernel", kernel_bpf);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
