// bpf_for_each_map_elem (helper 164): a socket filter walks a map of 256
// elements with a callback that adds each value to a sum in its context,
// through userbpf_bpf() and, side by side, the kernel's bpf() (skipped where
// it is unavailable). Both report BPF_PROG_TEST_RUN's own `duration`
// (average ns per run, repeat 1000), so the figures compare the walks, not
// the syscall paths. Arrays and hashes; per_elem_ns = per run / 256.
//
// Rerun: cmake --build build --target for_each_bench && build/bench/for_each_bench
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

#include "btf_builder.h"

namespace {

using Fn = long (*)(int, union bpf_attr *, unsigned int);

constexpr uint32_t kElements = 256;

long call(Fn fn, int cmd, union bpf_attr &a) { return fn(cmd, &a, sizeof(a)); }

int create_filled_map(Fn fn, uint32_t type) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = type;
  a.key_size = 4;
  a.value_size = 8;
  a.max_entries = kElements;
  const int fd = static_cast<int>(call(fn, BPF_MAP_CREATE, a));
  if (fd < 0) return fd;
  for (uint32_t k = 0; k < kElements; k++) {
    uint64_t v = k;
    memset(&a, 0, sizeof(a));
    a.map_fd = static_cast<uint32_t>(fd);
    a.key = reinterpret_cast<uintptr_t>(&k);
    a.value = reinterpret_cast<uintptr_t>(&v);
    call(fn, BPF_MAP_UPDATE_ELEM, a);
  }
  return fd;
}

// main: r1 = the map, r2 = cb, r3 = fp-8 (the sum), r4 = 0, call 164,
// return 0. cb: *ctx += *value, return 0. Callbacks need func_info, so the
// program comes with a BTF.
int load_walk(Fn fn, int map_fd) {
  ubt::BtfBuilder b;
  const uint32_t i32 = b.int_type("int", 4, 32);
  const uint32_t vptr = b.ref(BTF_KIND_PTR, 0);
  const uint32_t main_fn = b.func("main_fn", b.func_proto(i32, {{"ctx", vptr}}));
  const uint32_t cb_fn =
      b.func("cb", b.func_proto(i32, {{"map", vptr}, {"key", vptr}, {"value", vptr}, {"ctx", vptr}}), BTF_FUNC_STATIC);
  const std::vector<uint8_t> blob = b.build();
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.btf = reinterpret_cast<uintptr_t>(blob.data());
  a.btf_size = static_cast<uint32_t>(blob.size());
  const int btf_fd = static_cast<int>(call(fn, BPF_BTF_LOAD, a));
  if (btf_fd < 0) return btf_fd;
  const struct bpf_insn insns[] = {
      {BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, -8, 0},
      {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd},
      {0, 0, 0, 0, 0},
      {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_2, BPF_PSEUDO_FUNC, 0, 6}, // cb at 3 + 1 + 6
      {0, 0, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0},
      {BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -8},
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 0},
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_for_each_map_elem},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}, // r0 = the elements visited
      // cb (insn 10)
      {BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_0, BPF_REG_4, 0, 0},
      {BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_5, BPF_REG_3, 0, 0},
      {BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_0, BPF_REG_5, 0, 0},
      {BPF_STX | BPF_MEM | BPF_DW, BPF_REG_4, BPF_REG_0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  const uint32_t func_info[] = {0, main_fn, 10, cb_fn};
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insns = reinterpret_cast<uintptr_t>(insns);
  a.insn_cnt = sizeof(insns) / sizeof(insns[0]);
  a.license = reinterpret_cast<uintptr_t>("GPL");
  a.prog_btf_fd = static_cast<uint32_t>(btf_fd);
  a.func_info_rec_size = sizeof(struct bpf_func_info);
  a.func_info_cnt = 2;
  a.func_info = reinterpret_cast<uintptr_t>(func_info);
  const int fd = static_cast<int>(call(fn, BPF_PROG_LOAD, a));
  close(btf_fd);
  return fd;
}

void run(benchmark::State &state, Fn fn, uint32_t map_type) {
  const int map_fd = create_filled_map(fn, map_type);
  const int fd = map_fd < 0 ? -1 : load_walk(fn, map_fd);
  if (fd < 0) {
    state.SkipWithError(("map or program load failed: " + std::string(strerror(errno))).c_str());
    if (map_fd >= 0) close(map_fd);
    return;
  }
  std::vector<uint8_t> in(64, 0), out(256);
  union bpf_attr a;
  for (auto _ : state) {
    memset(&a, 0, sizeof(a));
    a.test.prog_fd = static_cast<uint32_t>(fd);
    a.test.data_in = reinterpret_cast<uintptr_t>(in.data());
    a.test.data_size_in = static_cast<uint32_t>(in.size());
    a.test.data_out = reinterpret_cast<uintptr_t>(out.data());
    a.test.data_size_out = static_cast<uint32_t>(out.size());
    a.test.repeat = 1000;
    if (call(fn, BPF_PROG_TEST_RUN, a) < 0 || a.test.retval != kElements) {
      state.SkipWithError(("test run failed or visited " + std::to_string(a.test.retval)).c_str());
      break;
    }
    state.SetIterationTime(a.test.duration * 1e-9);
  }
  state.counters["per_elem_ns"] =
      benchmark::Counter(kElements, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  close(fd);
  close(map_fd);
}

void BM_userbpf_array(benchmark::State &s) { run(s, userbpf_bpf, BPF_MAP_TYPE_ARRAY); }
void BM_kernel_array(benchmark::State &s) { run(s, kernel_bpf, BPF_MAP_TYPE_ARRAY); }
void BM_userbpf_hash(benchmark::State &s) { run(s, userbpf_bpf, BPF_MAP_TYPE_HASH); }
void BM_kernel_hash(benchmark::State &s) { run(s, kernel_bpf, BPF_MAP_TYPE_HASH); }

BENCHMARK(BM_userbpf_array)->UseManualTime()->Iterations(200);
BENCHMARK(BM_kernel_array)->UseManualTime()->Iterations(200);
BENCHMARK(BM_userbpf_hash)->UseManualTime()->Iterations(200);
BENCHMARK(BM_kernel_hash)->UseManualTime()->Iterations(200);

} // namespace

BENCHMARK_MAIN();
