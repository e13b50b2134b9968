// Random valid programs through the interpreter, our JIT and, where bpf()
// works, the kernel (BPF_PROG_TEST_RUN of a socket filter): the results must
// match. The generator makes programs the kernel's verifier accepts: every
// register initialised first, ALU of every kind (64/32-bit, signed division,
// movsx, byte swaps, division by registers that may be zero), loads, stores
// and atomics within a 64-byte stack buffer, forward jumps of every kind.
// The epilogue folds r0..r9 and the buffer into r0 (low 32 bits: the kernel's
// retval is a u32), so a difference in any register or byte shows.
//
// USERBPF_VM_RANDOM_SEED / USERBPF_VM_RANDOM_COUNT override the defaults.
#include <gtest/gtest.h>

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "vm_test_util.h"
#include "vm/decoder.h"
#include "vm/disasm.h"
#include "vm/interpreter.h"

namespace {

using namespace userbpf::vm;

using ubt::I; // one raw instruction from its fields

struct Item {
  std::vector<RawInsn> insns; // 1, or 2 for LD_IMM64
  int jump_to = -1;           // item index, for jumps
  bool jump_in_imm = false;   // gotol
};

class Generator {
public:
  // v4: whether to use the ISA v4 forms (sdiv/smod, movsx, bswap, ldxs, gotol),
  // which kernels before 6.6 reject.
  Generator(uint64_t seed, bool v4) : rng_(seed), v4_(v4) {}

  std::vector<RawInsn> program() {
    std::vector<Item> items;
    // Initialise r0..r9 and the 64-byte buffer at r10-64.
    for (uint8_t r = 0; r <= 9; r++) items.push_back(ld_imm64(r, random_value()));
    for (int k = 0; k < 8; k++) items.push_back({{I(0x7a, 10, 0, static_cast<int16_t>(-64 + 8 * k), imm())}});
    const size_t body_begin = items.size();
    const size_t body_len = 20 + rng_() % 60;
    for (size_t i = 0; i < body_len; i++) items.push_back(random_item());
    const size_t end = items.size();
    // Forward jump targets, anywhere up to the epilogue.
    for (size_t i = body_begin; i < end; i++)
      if (items[i].jump_to == -2)
        items[i].jump_to = static_cast<int>(i + 1 + rng_() % std::min<size_t>(8, end - i));
      else if (items[i].jump_to == -3)
        items[i].jump_to = static_cast<int>(i + 1);
    // Epilogue: fold the registers and the buffer into r0, then the high half into the low.
    for (uint8_t r = 1; r <= 9; r++) {
      items.push_back({{I(0x27, 0, 0, 0, 31)}});   // r0 *= 31
      items.push_back({{I(0xaf, 0, r)}});           // r0 ^= rN
    }
    for (int k = 0; k < 8; k++) {
      items.push_back({{I(0x79, 1, 10, static_cast<int16_t>(-64 + 8 * k))}});
      items.push_back({{I(0x27, 0, 0, 0, 31)}});
      items.push_back({{I(0xaf, 0, 1)}});
    }
    items.push_back({{I(0xbf, 1, 0)}});
    items.push_back({{I(0x77, 1, 0, 0, 32)}});
    items.push_back({{I(0xaf, 0, 1)}});
    items.push_back({{I(0x95)}});

    // Lay out: item -> slot.
    std::vector<size_t> slot(items.size() + 1);
    for (size_t i = 0; i < items.size(); i++) slot[i + 1] = slot[i] + items[i].insns.size();
    std::vector<RawInsn> out;
    for (size_t i = 0; i < items.size(); i++) {
      Item &it = items[i];
      if (it.jump_to >= 0) {
        int64_t rel = static_cast<int64_t>(slot[it.jump_to]) - static_cast<int64_t>(slot[i]) - 1;
        if (it.jump_in_imm)
          it.insns[0].imm = static_cast<int32_t>(rel);
        else
          it.insns[0].off = static_cast<int16_t>(rel);
      }
      out.insert(out.end(), it.insns.begin(), it.insns.end());
    }
    return out;
  }

private:
  std::mt19937_64 rng_;
  bool v4_;

  uint8_t reg() { return static_cast<uint8_t>(rng_() % 10); }
  int32_t imm() {
    switch (rng_() % 4) {
    case 0: return static_cast<int32_t>(rng_() % 16) - 8;
    case 1: return INT32_MIN + static_cast<int32_t>(rng_() % 3);
    default: return static_cast<int32_t>(rng_());
    }
  }
  uint64_t random_value() {
    switch (rng_() % 4) {
    case 0: return rng_() % 8;
    case 1: return static_cast<uint64_t>(-static_cast<int64_t>(rng_() % 8));
    case 2: return 0x8000000000000000ull >> (rng_() % 64);
    default: return rng_();
    }
  }
  static Item ld_imm64(uint8_t r, uint64_t v) {
    return {{I(0x18, r, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(v))),
             I(0, 0, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(v >> 32)))}};
  }

  Item random_item() {
    static const uint8_t kAluOps[] = {0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0};
    const bool is64 = rng_() % 2;
    const uint8_t cls = is64 ? 0x07 : 0x04;
    switch (rng_() % 12) {
    case 0:
    case 1: { // ALU imm
      uint8_t op = kAluOps[rng_() % sizeof kAluOps];
      int16_t off = 0;
      int32_t v = imm();
      if (op == 0x60 || op == 0x70 || op == 0xc0) v = static_cast<int32_t>(rng_() % (is64 ? 64 : 32));
      if (op == 0x30 || op == 0x90) {
        if (v == 0) v = 3;
        off = static_cast<int16_t>(v4_ ? rng_() % 2 : 0); // sdiv / smod
      }
      return {{I(cls | op, reg(), 0, off, v)}};
    }
    case 2:
    case 3: { // ALU reg (division by a register that may be zero)
      uint8_t op = kAluOps[rng_() % sizeof kAluOps];
      int16_t off = (op == 0x30 || op == 0x90) && v4_ ? static_cast<int16_t>(rng_() % 2) : 0;
      return {{I(cls | 0x08 | op, reg(), reg(), off)}};
    }
    case 4: { // neg, byte swaps, movsx
      static const int32_t kWidths[] = {16, 32, 64};
      switch (rng_() % (v4_ ? 5 : 3)) {
      case 0: return {{I(cls | 0x80, reg())}};
      case 1: return {{I(0xd4, reg(), 0, 0, kWidths[rng_() % 3])}};
      case 2: return {{I(0xdc, reg(), 0, 0, kWidths[rng_() % 3])}};
      case 3: return {{I(0xd7, reg(), 0, 0, kWidths[rng_() % 3])}};
      default: {
        static const int16_t kSx64[] = {8, 16, 32};
        return is64 ? Item{{I(0xbf, reg(), reg(), kSx64[rng_() % 3])}}
                    : Item{{I(0xbc, reg(), reg(), kSx64[rng_() % 2])}};
      }
      }
    }
    case 5: return ld_imm64(reg(), random_value());
    case 6: { // load, possibly sign-extending
      static const uint8_t kLoads[] = {0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91};
      uint8_t code = kLoads[rng_() % (v4_ ? sizeof kLoads : 4)];
      int size = access_size(code);
      return {{I(code, reg(), 10, static_cast<int16_t>(-64 + size * static_cast<int>(rng_() % (64 / size))))}};
    }
    case 7: { // store reg or imm
      static const uint8_t kStores[] = {0x63, 0x6b, 0x73, 0x7b, 0x62, 0x6a, 0x72, 0x7a};
      uint8_t code = kStores[rng_() % sizeof kStores];
      int size = access_size(code);
      int16_t off = static_cast<int16_t>(-64 + size * static_cast<int>(rng_() % (64 / size)));
      return (code & 0x07) == 0x03 ? Item{{I(code, 10, reg(), off)}} : Item{{I(code, 10, 0, off, imm())}};
    }
    case 8: { // atomic
      static const int32_t kAtomics[] = {0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1};
      bool dw = rng_() % 2;
      int size = dw ? 8 : 4;
      return {{I(dw ? 0xdb : 0xc3, 10, reg(), static_cast<int16_t>(-64 + size * static_cast<int>(rng_() % (64 / size))),
                 kAtomics[rng_() % 10])}};
    }
    case 9:
    case 10: { // conditional jump, imm or reg, JMP or JMP32
      static const uint8_t kConds[] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0};
      uint8_t code = static_cast<uint8_t>((rng_() % 2 ? 0x05 : 0x06) | kConds[rng_() % sizeof kConds]);
      Item it = rng_() % 2 ? Item{{I(code, reg(), 0, 0, imm())}} : Item{{I(code | 0x08, reg(), reg())}};
      it.jump_to = -2;
      return it;
    }
    default: { // ja / gotol: to the next instruction (the kernel rejects unreachable code)
      Item it{{I(rng_() % 2 || !v4_ ? 0x05 : 0x06)}};
      it.jump_in_imm = it.insns[0].code == 0x06;
      it.jump_to = -3;
      return it;
    }
    }
  }
};

long sys_bpf(int cmd, union bpf_attr *attr) { return syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }

// The kernel's retval, or -errno (with the verifier log in *log).
int64_t kernel_run(const std::vector<RawInsn> &prog, std::string *log) {
  static char license[] = "GPL";
  static char log_buf[1 << 16];
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = reinterpret_cast<uintptr_t>(prog.data());
  attr.insn_cnt = static_cast<uint32_t>(prog.size());
  attr.license = reinterpret_cast<uintptr_t>(license);
  attr.log_buf = reinterpret_cast<uintptr_t>(log_buf);
  attr.log_size = sizeof log_buf;
  attr.log_level = 1;
  log_buf[0] = '\0';
  int fd = static_cast<int>(sys_bpf(BPF_PROG_LOAD, &attr));
  if (fd < 0) {
    int err = errno;
    *log = log_buf;
    return -err;
  }
  uint8_t packet[64] = {};
  memset(&attr, 0, sizeof attr);
  attr.test.prog_fd = static_cast<uint32_t>(fd);
  attr.test.data_in = reinterpret_cast<uintptr_t>(packet);
  attr.test.data_size_in = sizeof packet;
  attr.test.repeat = 1;
  long r = sys_bpf(BPF_PROG_TEST_RUN, &attr);
  int err = errno;
  close(fd);
  if (r != 0) return -err;
  return attr.test.retval;
}

bool kernel_bpf_available() {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  int fd = static_cast<int>(sys_bpf(BPF_MAP_CREATE, &attr));
  if (fd < 0) return false;
  close(fd);
  return true;
}

uint64_t env_or(const char *name, uint64_t fallback) {
  const char *v = getenv(name);
  return v ? strtoull(v, nullptr, 0) : fallback;
}

std::string listing(const std::vector<RawInsn> &prog) {
  DecodedProgram d;
  std::string error;
  if (decode(prog.data(), prog.size(), &d, &error)) return error;
  return disassemble(d);
}

TEST(VmRandom, InterpreterRunsGeneratedProgramsDeterministically) {
  // Without the kernel: every generated program decodes, runs to the end and
  // gives the same result twice.
  Generator gen(env_or("USERBPF_VM_RANDOM_SEED", 1), true);
  for (int n = 0; n < 200; n++) {
    std::vector<RawInsn> raw = gen.program();
    DecodedProgram d;
    std::string error;
    ASSERT_EQ(decode(raw.data(), raw.size(), &d, &error), 0) << error;
    std::unique_ptr<Program> prog;
    ASSERT_EQ(Program::create(d, &prog, &error), 0) << error;
    RunResult a = prog->run(0, 0, 100000), b = prog->run(0);
    ASSERT_EQ(a.err, 0) << a.error;
    EXPECT_EQ(a.r0, b.r0);
  }
}

// The JIT against the interpreter on the same random programs (r0 folds
// every register and the stack buffer), plain and with constant blinding.
TEST(VmRandom, JitMatchesTheInterpreter) {
  if (!jit_supported()) GTEST_SKIP() << "no JIT for this CPU";
  const uint64_t seed = env_or("USERBPF_VM_RANDOM_SEED", 7);
  const uint64_t count = env_or("USERBPF_VM_RANDOM_COUNT", 2000);
  Generator gen(seed, true);
  for (uint64_t n = 0; n < count; n++) {
    std::vector<RawInsn> raw = gen.program();
    DecodedProgram d;
    std::string error;
    ASSERT_EQ(decode(raw.data(), raw.size(), &d, &error), 0) << error;
    std::unique_ptr<Program> interp, jit;
    ASSERT_EQ(Program::create(d, &interp, &error), 0) << error;
    ProgramOptions options;
    options.engine = Engine::kJit;
    options.jit.blind_constants = n % 2;
    ASSERT_EQ(Program::create(d, &jit, &error, options), 0) << error;
    RunResult a = interp->run(0, 0, 100000), b = jit->run(0);
    ASSERT_EQ(a.err, 0) << a.error;
    ASSERT_EQ(b.err, 0) << b.error;
    ASSERT_EQ(a.r0, b.r0) << "seed " << seed << ", program " << n << (n % 2 ? " (blinded)" : "") << ":\n"
                          << listing(raw);
  }
}

TEST(VmRandom, MatchesTheKernel) {
  if (!kernel_bpf_available()) GTEST_SKIP() << "the kernel's bpf() is not available here";
  const uint64_t seed = env_or("USERBPF_VM_RANDOM_SEED", 20261122);
  const uint64_t count = env_or("USERBPF_VM_RANDOM_COUNT", 300);
  // Does this kernel know ISA v4? (r0 = 1; r0 s/= 1; exit)
  std::string probe_log;
  bool v4 = kernel_run({I(0xb7, 0, 0, 0, 1), I(0x37, 0, 0, 1, 1), I(0x95)}, &probe_log) >= 0;
  Generator gen(seed, v4);
  int rejected = 0;
  std::string first_rejection;
  for (uint64_t n = 0; n < count; n++) {
    std::vector<RawInsn> raw = gen.program();
    DecodedProgram d;
    std::string error;
    ASSERT_EQ(decode(raw.data(), raw.size(), &d, &error), 0) << error;
    std::unique_ptr<Program> prog;
    ASSERT_EQ(Program::create(d, &prog, &error), 0) << error;
    RunResult ours = prog->run(0, 0, 100000);
    ASSERT_EQ(ours.err, 0) << ours.error;
    // Our JIT too (the kernel runs its own JIT: three engines, one answer).
    RunResult jitted = ours;
    if (jit_supported()) {
      ProgramOptions options;
      options.engine = Engine::kJit;
      std::unique_ptr<Program> jit;
      ASSERT_EQ(Program::create(d, &jit, &error, options), 0) << error;
      jitted = jit->run(0);
    }

    std::string log;
    int64_t kernel = kernel_run(raw, &log);
    if (kernel < 0) {
      if (kernel == -EPERM) GTEST_SKIP() << "not allowed to load programs";
      if (rejected++ == 0) first_rejection = "program " + std::to_string(n) + ": " + strerror(static_cast<int>(-kernel)) +
                                             "\n" + listing(raw) + "\nverifier log tail:\n" +
                                             log.substr(log.size() > 2000 ? log.size() - 2000 : 0);
      continue;
    }
    ASSERT_EQ(static_cast<uint32_t>(ours.r0), static_cast<uint32_t>(kernel))
        << "seed " << seed << ", program " << n << ":\n"
        << listing(raw);
    ASSERT_EQ(static_cast<uint32_t>(jitted.r0), static_cast<uint32_t>(kernel))
        << "JIT: seed " << seed << ", program " << n << ":\n"
        << listing(raw);
  }
  // The generator aims at programs the verifier accepts; a few rejections
  // (e.g. verifier complexity) are tolerated, a pattern is not.
  EXPECT_LE(rejected, static_cast<int>(count / 20)) << first_rejection;
  RecordProperty("kernel_rejected", rejected);
}

} // namespace
