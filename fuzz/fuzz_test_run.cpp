// libFuzzer target: BPF_PROG_TEST_RUN with random attrs, packets and
// contexts, against programs of every type that has a test run (loaded once:
// XDP that moves its head and metadata and writes the packet, XDP that moves
// its tail by a delta from the packet, tc that writes
// its context and packet, socket filter, cgroup skb, raw tracepoint, syscall,
// and a kprobe, which has no test run).
//
// What is random: the program, every attr->test field (sizes, repeat,
// flags, cpu, batch_size, duration), the attr size (at a field's end), the packet and context
// bytes (a random __sk_buff or xdp_md is mostly invalid; the fuzzer finds the
// valid ones). What is never random: pointers. Each is NULL or a buffer at
// least as large as the call may touch (data_out and ctx_out buffers are as
// large as the size the caller claims, and data_out is large enough for any
// packet when data_size_out is 0, which means "no limit").
//
// Oracles, beyond the sanitizers: the result is 0 or -1 with errno set; a
// successful run of a program with a known verdict reports that verdict;
// data_size_out never exceeds what the packet can be.
#include <errno.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include <userbpf/bpf.h>

namespace {

#define ATTR_END(field) \
  static_cast<unsigned>(offsetof(union bpf_attr, field) + sizeof(((union bpf_attr *)nullptr)->field))

[[noreturn]] void oracle_failed(const char *what) {
  fprintf(stderr, "oracle failed: %s\n", what);
  abort();
}

struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  struct bpf_insn i;
  memset(&i, 0, sizeof(i));
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

struct Loaded {
  int fd;
  uint32_t type;
  int64_t verdict; // the return value every successful run gives, or -1 if it varies
};
std::vector<Loaded> g_progs;

void load(uint32_t type, std::vector<struct bpf_insn> insns, int64_t verdict, uint32_t flags = 0) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = type;
  a.insns = reinterpret_cast<uintptr_t>(insns.data());
  a.insn_cnt = static_cast<uint32_t>(insns.size());
  a.license = reinterpret_cast<uintptr_t>("GPL");
  a.prog_flags = flags;
  long fd = userbpf_bpf(BPF_PROG_LOAD, &a, sizeof(a));
  if (fd < 0) {
    fprintf(stderr, "fuzz_test_run: program of type %u does not load: %s\n", type, strerror(errno));
    abort();
  }
  g_progs.push_back({static_cast<int>(fd), type, verdict});
}

constexpr uint8_t kLdxW = BPF_LDX | BPF_MEM | BPF_W, kStxW = BPF_STX | BPF_MEM | BPF_W, kStB = BPF_ST | BPF_MEM | BPF_B;
constexpr uint8_t kMovK = BPF_ALU64 | BPF_MOV | BPF_K, kMovX = BPF_ALU64 | BPF_MOV | BPF_X;
constexpr uint8_t kAddK = BPF_ALU64 | BPF_ADD | BPF_K, kJgtX = BPF_JMP | BPF_JGT | BPF_X;
constexpr uint8_t kCall = BPF_JMP | BPF_CALL, kExit = BPF_JMP | BPF_EXIT;

// r1 = ctx on entry. `data`/`data_end` are the context offsets of the packet pointers.
std::vector<struct bpf_insn> write_first_byte(int16_t data, int16_t data_end, int32_t verdict) {
  return {insn(kLdxW, 2, 1, data, 0), insn(kLdxW, 3, 1, data_end, 0), insn(kMovX, 4, 2, 0, 0),
          insn(kAddK, 4, 0, 0, 1),    insn(kJgtX, 4, 3, 1, 0),         insn(kStB, 2, 0, 0, 0x5a),
          insn(kMovK, 0, 0, 0, verdict), insn(kExit, 0, 0, 0, 0)};
}

void load_programs() {
  // XDP: meta -8, head -4 (results ignored), then write the first byte.
  std::vector<struct bpf_insn> xdp = {insn(kMovX, 6, 1, 0, 0), insn(kMovK, 2, 0, 0, -8), insn(kCall, 0, 0, 0, 54),
                                      insn(kMovX, 1, 6, 0, 0), insn(kMovK, 2, 0, 0, -4), insn(kCall, 0, 0, 0, 44),
                                      insn(kMovX, 1, 6, 0, 0)};
  auto tail = write_first_byte(0, 4, 2);
  xdp.insert(xdp.end(), tail.begin(), tail.end());
  load(BPF_PROG_TYPE_XDP, xdp, 2);
  // XDP: adjust the tail by first byte * 16 - 2040 (every delta from -2040
  // to 2040 by 16; the fuzzer picks the byte), then write the first byte.
  constexpr uint8_t kLdxB = BPF_LDX | BPF_MEM | BPF_B, kLshK = BPF_ALU64 | BPF_LSH | BPF_K;
  std::vector<struct bpf_insn> xdp_tail = {
      insn(kMovX, 6, 1, 0, 0),   insn(kLdxW, 2, 1, 0, 0),   insn(kLdxW, 3, 1, 4, 0), insn(kMovX, 4, 2, 0, 0),
      insn(kAddK, 4, 0, 0, 1),   insn(kJgtX, 4, 3, 5, 0),   insn(kLdxB, 2, 2, 0, 0), insn(kLshK, 2, 0, 0, 4),
      insn(kAddK, 2, 0, 0, -2040), insn(kMovX, 1, 6, 0, 0), insn(kCall, 0, 0, 0, 65), insn(kMovX, 1, 6, 0, 0)};
  tail = write_first_byte(0, 4, 3);
  xdp_tail.insert(xdp_tail.end(), tail.begin(), tail.end());
  load(BPF_PROG_TYPE_XDP, xdp_tail, 3);
  // tc: mark = len, cb[0] += 1, write the first byte.
  std::vector<struct bpf_insn> tc = {insn(kLdxW, 2, 1, 0, 0), insn(kStxW, 1, 2, 8, 0), insn(kLdxW, 2, 1, 48, 0),
                                     insn(kAddK, 2, 0, 0, 1), insn(kStxW, 1, 2, 48, 0)};
  tail = write_first_byte(76, 80, 0);
  tc.insert(tc.end(), tail.begin(), tail.end());
  load(BPF_PROG_TYPE_SCHED_CLS, tc, 0);
  load(BPF_PROG_TYPE_SOCKET_FILTER, {insn(kLdxW, 0, 1, 0, 0), insn(kExit, 0, 0, 0, 0)}, -1);
  load(BPF_PROG_TYPE_CGROUP_SKB,
       {insn(kLdxW, 2, 1, 76, 0), insn(kLdxW, 3, 1, 80, 0), insn(kMovK, 0, 0, 0, 1), insn(kMovX, 4, 2, 0, 0),
        insn(kAddK, 4, 0, 0, 2), insn(kJgtX, 4, 3, 1, 0), insn(kMovK, 0, 0, 0, 0), insn(kExit, 0, 0, 0, 0)},
       -1);
  load(BPF_PROG_TYPE_RAW_TRACEPOINT, {insn(BPF_LDX | BPF_MEM | BPF_DW, 0, 1, 16, 0), insn(kExit, 0, 0, 0, 0)}, -1);
  load(BPF_PROG_TYPE_SYSCALL,
       {insn(kLdxW, 2, 1, 4, 0), insn(kAddK, 2, 0, 0, 1), insn(kStxW, 1, 2, 4, 0), insn(kMovK, 0, 0, 0, 7),
        insn(kExit, 0, 0, 0, 0)},
       7, BPF_F_SLEEPABLE);
  load(BPF_PROG_TYPE_KPROBE, {insn(kMovK, 0, 0, 0, 0), insn(kExit, 0, 0, 0, 0)}, 0);
}

// A size for a buffer: mostly small and around the interesting limits.
uint32_t pick_size(FuzzedDataProvider &in) {
  static const uint32_t kSizes[] = {0, 1, 13, 14, 15, 24, 60, 64, 96, 104, 192, 200, 3520, 3521, 3712, 3713, 4096, 5000};
  return in.ConsumeBool() ? in.PickValueInArray(kSizes) : in.ConsumeIntegralInRange<uint32_t>(0, 6000);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  if (!getenv("USERBPF_FS")) {
    static char root[] = "/tmp/userbpf-fuzz-XXXXXX";
    if (mkdtemp(root)) setenv("USERBPF_FS", root, 1);
  }
  load_programs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider in(data, size);
  const Loaded &prog = g_progs[in.ConsumeIntegralInRange<size_t>(0, g_progs.size() - 1)];
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.test.prog_fd = static_cast<uint32_t>(prog.fd);
  // Buffers: NULL or as large as claimed; data_out always big enough for any packet.
  std::vector<uint8_t> data_in(pick_size(in)), ctx_in(pick_size(in));
  std::vector<uint8_t> data_out(8192), ctx_out(in.ConsumeIntegralInRange<uint32_t>(0, 300));
  for (auto &b : data_in) b = in.ConsumeIntegral<uint8_t>();
  for (auto &b : ctx_in) b = in.ConsumeBool() ? 0 : in.ConsumeIntegral<uint8_t>();
  if (in.ConsumeBool()) {
    a.test.data_in = reinterpret_cast<uintptr_t>(data_in.data());
    a.test.data_size_in = static_cast<uint32_t>(data_in.size());
  } else if (in.ConsumeBool()) {
    a.test.data_size_in = static_cast<uint32_t>(data_in.size()); // NULL with a size: EFAULT
  }
  if (in.ConsumeBool()) {
    a.test.data_out = reinterpret_cast<uintptr_t>(data_out.data());
    a.test.data_size_out = in.ConsumeIntegralInRange<uint32_t>(0, 8192);
  }
  if (in.ConsumeBool()) {
    a.test.ctx_in = reinterpret_cast<uintptr_t>(ctx_in.data());
    a.test.ctx_size_in = static_cast<uint32_t>(ctx_in.size());
  }
  if (in.ConsumeBool()) {
    a.test.ctx_out = reinterpret_cast<uintptr_t>(ctx_out.data());
    a.test.ctx_size_out = static_cast<uint32_t>(ctx_out.size());
  }
  a.test.repeat = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint32_t>(0, 4) : 0;
  if (in.ConsumeBool()) a.test.flags = in.ConsumeIntegral<uint32_t>() & 7;
  if (in.ConsumeBool()) a.test.cpu = in.ConsumeIntegralInRange<uint32_t>(0, 3);
  if (in.ConsumeBool()) a.test.batch_size = in.ConsumeIntegralInRange<uint32_t>(0, 300);
  if (in.ConsumeBool()) a.test.duration = 1;
  // A shorter attr ends at a field's end (a cut pointer would be a wild one).
  static const unsigned kFieldEnds[] = {
      0, ATTR_END(test.prog_fd), ATTR_END(test.retval), ATTR_END(test.data_size_in), ATTR_END(test.data_size_out),
      ATTR_END(test.data_in), ATTR_END(test.data_out), ATTR_END(test.repeat), ATTR_END(test.duration),
      ATTR_END(test.ctx_size_in), ATTR_END(test.ctx_size_out), ATTR_END(test.ctx_in), ATTR_END(test.ctx_out),
      ATTR_END(test.flags), ATTR_END(test.cpu), ATTR_END(test.batch_size), sizeof(a)};
  unsigned attr_size = in.ConsumeBool() ? in.PickValueInArray(kFieldEnds) : static_cast<unsigned>(sizeof(a));

  errno = 0;
  long r = userbpf_bpf(BPF_PROG_TEST_RUN, &a, attr_size);
  if (r != 0 && r != -1) oracle_failed("result neither 0 nor -1");
  if (r == -1 && errno == 0) oracle_failed("failure without errno");
  if (r == 0 && attr_size == sizeof(a)) {
    if (prog.verdict >= 0 && a.test.retval != static_cast<uint32_t>(prog.verdict)) oracle_failed("wrong verdict");
    if (a.test.data_out && a.test.data_size_out > 4096) oracle_failed("a packet larger than a page");
  }
  return 0;
}
