// The legacy packet loads (BPF_LD | BPF_ABS, BPF_LD | BPF_IND) at run time,
// against the kernel: the same small programs are loaded on both sides and
// test-run (BPF_PROG_TEST_RUN) over the same packets, as a socket filter
// (the packet seen from its network header) and as a tc classifier (from
// its Ethernet header), with offsets inside the packet, at its edges, past
// it, negative, in the SKF_NET_OFF / SKF_LL_OFF ranges and at the int
// limits. Each case runs two programs: one returns the loaded value (0 when
// the load ended the program), the other returns 1 only if the program went
// on after the load. userbpf runs each in its interpreter and its JIT.
#include <errno.h>
#include <linux/filter.h>

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <userbpf/userbpf.hpp>

#include "bpf_test_util.h"
#include "private_root_env.h"

namespace {

struct Insn {
  uint8_t code;
  uint8_t regs; // src << 4 | dst
  int16_t off;
  int32_t imm;
};
static_assert(sizeof(Insn) == sizeof(struct bpf_insn));

constexpr Insn mov64_imm(int dst, int32_t imm) { return {BPF_ALU64 | BPF_MOV | BPF_K, uint8_t(dst), 0, imm}; }
constexpr Insn mov64_reg(int dst, int src) { return {BPF_ALU64 | BPF_MOV | BPF_X, uint8_t(src << 4 | dst), 0, 0}; }
constexpr Insn exit_insn() { return {BPF_JMP | BPF_EXIT, 0, 0, 0}; }

// The load under test: LD_ABS of `size` at imm, or LD_IND at src_value + imm.
struct Load {
  bool indirect;
  int size; // BPF_B, BPF_H, BPF_W
  int64_t src_value;
  int32_t imm;
};

std::string describe(const Load &l) {
  const char *size = l.size == BPF_B ? "b" : l.size == BPF_H ? "h" : "w";
  std::string s = std::string(l.indirect ? "ldind" : "ldabs") + size;
  if (l.indirect) s += " r7=" + std::to_string(l.src_value);
  return s + " imm=" + std::to_string(l.imm);
}

// continue_marker: return 1 after the load instead of the loaded value.
std::vector<Insn> program(const Load &l, bool continue_marker) {
  std::vector<Insn> p = {mov64_reg(6, 1)};
  if (l.indirect) {
    // r7 = src_value: a 64-bit constant (LD_IMM64), so offsets that only the
    // truncation to int brings in range are tried too.
    p.push_back({BPF_LD | BPF_DW | BPF_IMM, 7, 0, static_cast<int32_t>(static_cast<uint32_t>(l.src_value))});
    p.push_back({0, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(l.src_value) >> 32))});
    p.push_back({static_cast<uint8_t>(BPF_LD | BPF_IND | l.size), 7 << 4, 0, l.imm});
  } else {
    p.push_back({static_cast<uint8_t>(BPF_LD | BPF_ABS | l.size), 0, 0, l.imm});
  }
  if (continue_marker) p.push_back(mov64_imm(0, 1));
  p.push_back(exit_insn());
  return p;
}

long load_prog(ubt::BpfFn fn, uint32_t type, const std::vector<Insn> &insns) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = type;
  a.insns = reinterpret_cast<uintptr_t>(insns.data());
  a.insn_cnt = static_cast<uint32_t>(insns.size());
  a.license = reinterpret_cast<uintptr_t>("GPL");
  return ubt::call(fn, BPF_PROG_LOAD, a);
}

// retval of one test run, or -errno.
long test_run(ubt::BpfFn fn, int prog_fd, const std::vector<uint8_t> &packet) {
  std::vector<uint8_t> out(packet.size() + 64);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.test.prog_fd = static_cast<uint32_t>(prog_fd);
  a.test.data_in = reinterpret_cast<uintptr_t>(packet.data());
  a.test.data_size_in = static_cast<uint32_t>(packet.size());
  a.test.data_out = reinterpret_cast<uintptr_t>(out.data());
  a.test.data_size_out = static_cast<uint32_t>(out.size());
  long r = ubt::call(fn, BPF_PROG_TEST_RUN, a);
  return r < 0 ? r : static_cast<long>(a.test.retval);
}

// An Ethernet + IPv4 + TCP frame of `size` bytes, bytes after the headers
// counting up, so every offset reads a different value. Frames too short for
// an IPv4 header (which the kernel's test run refuses) carry the local
// experimental ethertype 0x88b5 instead.
std::vector<uint8_t> frame(size_t size) {
  std::vector<uint8_t> f(size);
  for (size_t i = 0; i < size; i++) f[i] = static_cast<uint8_t>(0x11 + 7 * i);
  const uint8_t head[] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00, // Ethernet, IPv4
                          0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
  for (size_t i = 0; i < sizeof(head) && i < size; i++) f[i] = head[i];
  if (size < 34) {
    f[12] = 0x88;
    f[13] = 0xb5;
  }
  return f;
}

std::vector<Load> cases(int64_t len) {
  std::vector<int32_t> abs_offsets = {0, 1, 2, 12, 13, 14, 20,
                                      static_cast<int32_t>(len - 4), static_cast<int32_t>(len - 3),
                                      static_cast<int32_t>(len - 2), static_cast<int32_t>(len - 1),
                                      static_cast<int32_t>(len), static_cast<int32_t>(len + 100), 4096,
                                      -1, -14, -0x1000, SKF_NET_OFF, SKF_NET_OFF + 1, SKF_NET_OFF + 9,
                                      static_cast<int32_t>(SKF_NET_OFF + len - 2), static_cast<int32_t>(SKF_NET_OFF + len + 20),
                                      SKF_NET_OFF - 1, SKF_LL_OFF, SKF_LL_OFF + 6, SKF_LL_OFF + 12, SKF_LL_OFF + 14,
                                      static_cast<int32_t>(SKF_LL_OFF + len + 14 - 4), static_cast<int32_t>(SKF_LL_OFF + len + 14),
                                      SKF_LL_OFF - 1, INT_MIN, INT_MAX, INT_MAX - 1};
  std::vector<Load> out;
  for (int size : {BPF_B, BPF_H, BPF_W})
    for (int32_t off : abs_offsets) out.push_back({false, size, 0, off});
  // LD_IND: the offset is (int)(src + imm).
  const std::vector<std::pair<int64_t, int32_t>> ind = {
      {0, 0}, {14, 0}, {14, -2}, {len - 1, 0}, {len, -1}, {len, 0}, {-1, 1}, {-20, 20}, {-1, 0},
      {int64_t{1} << 32, 3}, {(int64_t{1} << 32) + 9, 0}, {-(int64_t{1} << 32) + 2, 0}, {SKF_NET_OFF, 9},
      {SKF_LL_OFF, 12}, {SKF_LL_OFF, -1}, {INT_MAX, 1}, {INT64_MAX, 0}, {INT64_MIN, 0}};
  for (int size : {BPF_B, BPF_H, BPF_W})
    for (const auto &[src, imm] : ind) out.push_back({true, size, src, imm});
  return out;
}

class DiffLdAbsRun : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override {
    std::string why;
    if (!ubt::kernel_bpf_available(&why)) GTEST_SKIP() << why;
  }
  void TearDown() override { userbpf::set_execution_engine(userbpf::ExecutionEngine::kJit); }
};

TEST_P(DiffLdAbsRun, SameResultsAsTheKernel) {
  const uint32_t type = GetParam();
  size_t compared = 0;
  for (size_t size : {15u, 16u, 20u, 34u, 60u, 255u}) {
    const std::vector<uint8_t> packet = frame(size);
    // What the program sees: from the network header (socket filter) or
    // from the Ethernet header (tc).
    const int64_t len = type == BPF_PROG_TYPE_SOCKET_FILTER ? static_cast<int64_t>(size) - 14 : static_cast<int64_t>(size);
    for (const Load &l : cases(len)) {
      for (bool marker : {false, true}) {
        SCOPED_TRACE(describe(l) + (marker ? " (went on?)" : " (value)") + " packet " + std::to_string(size) + " bytes");
        const std::vector<Insn> p = program(l, marker);
        long kfd = load_prog(ubt::kernel_call, type, p);
        ASSERT_GE(kfd, 0) << "the kernel refused the program";
        const long want = test_run(ubt::kernel_call, static_cast<int>(kfd), packet);
        close(static_cast<int>(kfd));
        ASSERT_GE(want, 0);
        for (auto engine : {userbpf::ExecutionEngine::kInterpreter, userbpf::ExecutionEngine::kJit}) {
          if (userbpf::set_execution_engine(engine) != 0) continue; // no JIT here
          long ufd = load_prog(ubt::userbpf_call, type, p);
          ASSERT_GE(ufd, 0) << "userbpf refused the program";
          EXPECT_EQ(test_run(ubt::userbpf_call, static_cast<int>(ufd), packet), want)
              << (engine == userbpf::ExecutionEngine::kJit ? "JIT" : "interpreter");
          close(static_cast<int>(ufd));
        }
        compared++;
      }
    }
  }
  EXPECT_GT(compared, 500u);
}

INSTANTIATE_TEST_SUITE_P(Types, DiffLdAbsRun,
                         ::testing::Values(BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_SCHED_CLS),
                         [](const ::testing::TestParamInfo<uint32_t> &i) {
                           return std::string(i.param == BPF_PROG_TYPE_SOCKET_FILTER ? "SocketFilter" : "SchedCls");
                         });

} // namespace
