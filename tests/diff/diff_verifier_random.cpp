// Random programs through the kernel's verifier and userbpf's, side by side:
// the verdicts (accepted, or the errno) must agree. The programs are built
// from templates that reach the verifier's interesting rules: a map lookup
// and its NULL check, ALU on scalars in both widths (shifts, div/mod,
// negation), loads and stores on the map value at fixed and masked variable
// offsets, stack spills and fills, conditional forward jumps of every kind
// against constants and registers, and mistakes (pointer arithmetic with the
// wrong operator, uninitialized stack reads, out-of-range offsets) that one
// of the paths may or may not reach. Each seed is reproducible:
//   build/tests/diff_verifier_random --gtest_filter='*priv_seed3*'
// UBT_RANDOM_DUMP=1 prints both logs of a disagreement, UBT_RANDOM_SEEDS=N
// runs N seeds per mode instead of 4.
// Needs the kernel's bpf() (root); skips, saying why, elsewhere.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <userbpf/userbpf.hpp>

#include "bpf_test_util.h"
#include "capabilities.h"

namespace {


bpf_insn I(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst;
  i.src_reg = src;
  i.off = off;
  i.imm = imm;
  return i;
}

struct Program {
  std::vector<bpf_insn> insns;
  size_t map_insn = 0; // the LD_IMM64 of the map
};

// One random program (see the file comment).
Program generate(std::mt19937 &rng) {
  auto R = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  static const uint8_t kAlu[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_AND, BPF_OR, BPF_XOR,
                                 BPF_LSH, BPF_RSH, BPF_ARSH, BPF_DIV, BPF_MOD};
  static const uint8_t kJmp[] = {BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE,
                                 BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET};
  static const int kImm[] = {0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 63, -1, -8, 255, 0x7fffffff};
  Program p;
  auto &v = p.insns;
  v.push_back(I(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0));
  v.push_back(I(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0));
  v.push_back(I(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4));
  p.map_insn = v.size();
  v.push_back(I(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, 0));
  v.push_back(I(0, 0, 0, 0, 0));
  v.push_back(I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem));
  const size_t null_check = v.size();
  v.push_back(I(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 0, 0)); // to the exit, patched below
  v.push_back(I(BPF_ALU64 | BPF_MOV | BPF_X, 6, 0, 0, 0));
  for (int r : {1, 2, 3, 4, 5, 7, 8, 9}) v.push_back(I(BPF_ALU64 | BPF_MOV | BPF_K, static_cast<uint8_t>(r), 0, 0, 0));
  std::vector<size_t> jumps;
  const int body = R(4, 24);
  for (int k = 0; k < body; k++) {
    const uint8_t r = static_cast<uint8_t>(R(1, 5) == 5 ? R(7, 9) : R(1, 5));
    uint8_t s = static_cast<uint8_t>(R(1, 9));
    if (s == 6) s = 7;
    switch (R(0, 9)) {
    case 0:
      v.push_back(I(BPF_ALU64 | BPF_MOV | BPF_K, r, 0, 0, kImm[R(0, 14)]));
      break;
    case 1:
    case 2: {
      const uint8_t op = kAlu[R(0, 10)];
      const bool x = R(0, 1), w = R(0, 3) == 0;
      int imm = kImm[R(0, 14)];
      if ((op == BPF_DIV || op == BPF_MOD) && imm == 0) imm = 3;
      if (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) imm = R(0, w ? 31 : 63);
      v.push_back(I((w ? BPF_ALU : BPF_ALU64) | op | (x ? BPF_X : BPF_K), r, x ? s : 0, 0, x ? 0 : imm));
      break;
    }
    case 3: {
      static const uint8_t kSize[] = {BPF_B, BPF_H, BPF_W, BPF_DW};
      const int sz = R(0, 3), width = 1 << sz;
      int off = R(0, 16 / width - 1) * width;
      if (R(0, 7) == 0) off += width; // sometimes one past the value
      v.push_back(I(BPF_LDX | BPF_MEM | kSize[sz], r, 6, static_cast<int16_t>(off), 0));
      break;
    }
    case 4:
      v.push_back(I(BPF_STX | BPF_MEM | BPF_W, 6, r, static_cast<int16_t>(R(0, 3) * 4), 0));
      break;
    case 5:
    case 6: {
      jumps.push_back(v.size());
      const bool x = R(0, 2) == 0;
      v.push_back(I((R(0, 3) ? BPF_JMP : BPF_JMP32) | kJmp[R(0, 10)] | (x ? BPF_X : BPF_K), r, x ? s : 0, 0,
                    x ? 0 : kImm[R(0, 14)]));
      break;
    }
    case 7: // r7 = value + (r & mask), then a byte load: in bounds or not
      v.push_back(I(BPF_ALU64 | BPF_AND | BPF_K, r, 0, 0, R(0, 3) ? 7 : 15));
      v.push_back(I(BPF_ALU64 | BPF_MOV | BPF_X, 7, 6, 0, 0));
      v.push_back(I(BPF_ALU64 | BPF_ADD | BPF_X, 7, r, 0, 0));
      v.push_back(I(BPF_LDX | BPF_MEM | BPF_B, 8, 7, static_cast<int16_t>(R(0, 8)), 0));
      break;
    case 8: { // spill and fill (a jump may skip the spill)
      const int16_t off = static_cast<int16_t>(-8 * R(2, 6));
      v.push_back(I(BPF_STX | BPF_MEM | BPF_DW, 10, r, off, 0));
      v.push_back(I(BPF_LDX | BPF_MEM | BPF_DW, s, 10, off, 0));
      break;
    }
    case 9:
      v.push_back(I(BPF_ALU64 | BPF_NEG, r, 0, 0, 0));
      break;
    }
  }
  const size_t exit_at = v.size();
  v.push_back(I(BPF_ALU64 | BPF_MOV | BPF_X, 0, static_cast<uint8_t>(R(1, 5)), 0, 0));
  v.push_back(I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  v[null_check].off = static_cast<int16_t>(exit_at - null_check - 1);
  for (size_t j : jumps) v[j].off = static_cast<int16_t>(R(static_cast<int>(j) + 1, static_cast<int>(exit_at)) - static_cast<int>(j) - 1);
  return p;
}

// 0 if accepted, else -errno; the log in *log.
int load(ubt::BpfFn fn, Program p, int map_fd, std::string *log) {
  p.insns[p.map_insn].imm = map_fd;
  std::vector<char> buf(1 << 20);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insns = reinterpret_cast<uintptr_t>(p.insns.data());
  a.insn_cnt = static_cast<uint32_t>(p.insns.size());
  a.license = reinterpret_cast<uintptr_t>("GPL");
  a.log_buf = reinterpret_cast<uintptr_t>(buf.data());
  a.log_size = static_cast<uint32_t>(buf.size());
  a.log_level = 1;
  long fd = fn(BPF_PROG_LOAD, &a, sizeof a);
  int err = fd < 0 ? -errno : 0;
  if (fd >= 0) close(static_cast<int>(fd));
  *log = buf.data();
  return err;
}

int create_map(ubt::BpfFn fn) {
  long fd = ubt::map_create(fn, BPF_MAP_TYPE_ARRAY, 4, 16, 4);
  return fd < 0 ? -1 : static_cast<int>(fd);
}

// The last line of a log that says something (not the statistics).
std::string reason(const std::string &log) {
  size_t end = log.size();
  while (end > 0) {
    size_t start = log.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    std::string line = log.substr(start, end - start);
    if (!line.empty() && line.rfind("processed ", 0) != 0) return line;
    if (start == 0) break;
    end = start - 1;
  }
  return "";
}

std::string disassemble(const Program &p) {
  std::vector<char> buf(1 << 16);
  long n = userbpf_disassemble(p.insns.data(), p.insns.size() * sizeof(bpf_insn), buf.data(), buf.size());
  return n < 0 ? std::string("(cannot disassemble)") : std::string(buf.data());
}

struct Case {
  bool unprivileged;
  unsigned seed;
};

class RandomVerdicts : public ::testing::TestWithParam<Case> {};

constexpr int kProgramsPerSeed = 250;

TEST_P(RandomVerdicts, KernelAndUserbpfAgree) {
  const Case c = GetParam();
  setenv("USERBPF_MEMLOCK_LIMIT", "unlimited", 1);
  const int kernel_map = create_map(ubt::kernel_call);
  if (kernel_map < 0) GTEST_SKIP() << "the kernel's bpf() is not available here: " << strerror(errno);
  const int user_map = create_map(ubt::userbpf_call);
  ASSERT_GE(user_map, 0) << strerror(errno);
  userbpf::set_loader_privilege(c.unprivileged ? userbpf::LoaderPrivilege::kUnprivileged
                                               : userbpf::LoaderPrivilege::kPrivileged);
  std::mt19937 rng(c.seed);
  int accepted = 0, disagreements = 0;
  for (int i = 0; i < kProgramsPerSeed; i++) {
    Program p = generate(rng);
    std::string klog, ulog;
    int kernel_err;
    if (c.unprivileged) {
      ubt::KernelWithoutPerfmon drop;
      ASSERT_TRUE(drop.ok()) << "capset: " << strerror(errno);
      kernel_err = load(ubt::kernel_call, p, kernel_map, &klog);
    } else {
      kernel_err = load(ubt::kernel_call, p, kernel_map, &klog);
    }
    int user_err = load(ubt::userbpf_call, p, user_map, &ulog);
    if (kernel_err == 0) accepted++;
    if (kernel_err == user_err) continue;
    disagreements++;
    ADD_FAILURE() << "program " << i << " (seed " << c.seed << "): kernel " << kernel_err << " ["
                  << reason(klog) << "], userbpf " << user_err << " [" << reason(ulog) << "]\n"
                  << disassemble(p)
                  << (getenv("UBT_RANDOM_DUMP") ? "--- kernel log\n" + klog + "--- userbpf log\n" + ulog : "");
    if (disagreements >= 5) break;
  }
  userbpf::set_loader_privilege(userbpf::LoaderPrivilege::kPrivileged);
  close(kernel_map);
  close(user_map);
  // The generator must produce both verdicts, or the test checks little.
  EXPECT_GT(accepted, kProgramsPerSeed / 10);
  EXPECT_LT(accepted, kProgramsPerSeed - kProgramsPerSeed / 10);
}

// 4 seeds per mode; UBT_RANDOM_SEEDS=N runs N (for hunting).
std::vector<Case> cases() {
  std::vector<Case> out;
  const char *env = getenv("UBT_RANDOM_SEEDS");
  const unsigned seeds = env && atoi(env) > 0 ? static_cast<unsigned>(atoi(env)) : 4;
  for (bool unpriv : {false, true})
    for (unsigned seed = 1; seed <= seeds; seed++) out.push_back({unpriv, seed});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Verifier, RandomVerdicts, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           return std::string(info.param.unprivileged ? "unpriv" : "priv") + "_seed" +
                                  std::to_string(info.param.seed);
                         });

} // namespace
