// libFuzzer target for the x86-64 JIT: programs the verifier accepts must
// give the same result compiled as interpreted.
//
// The input drives a small template generator (its own; fuzz_verifier.cpp's
// richer one hunts verifier bugs, this one JIT bugs): r0..r9 start from input
// values, r6 keeps the context pointer (64 bytes of memory, kProgTypeMemory);
// then templates of every ALU form (imm and reg, 64 and 32-bit, division and
// modulo by registers that may be zero, signed forms, shifts, movsx, byte
// swaps, neg), LD_IMM64, loads and stores of every size (sign-extending
// too) on the stack buffer and the context, every atomic on both, forward
// conditional jumps (JMP and JMP32, imm and reg), ja/gotol, helper calls
// (r1-r5 re-initialised after, as the verifier demands) and bpf-to-bpf calls
// to a subprogram that works on its arguments and its own stack. The
// epilogue folds every register and the stack buffer into r0.
//
// Each accepted program runs in the interpreter (with a budget), then JIT
// compiled, plain and with constant blinding, on copies of the same
// context: r0, the error and the context bytes must all be equal, else the
// program is printed and the target aborts. USERBPF_FUZZ_VERBOSE=1 prints
// each program's size and verdict.
#include <cerrno>
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <linux/bpf.h>
#include <string>
#include <vector>

#include "fuzz_input.h"
#include "verifier/prog_types.h"
#include "verifier/verifier.h"
#include "vm/decoder.h"
#include "vm/disasm.h"
#include "vm/interpreter.h"
#include "vm/jit_x86_64.h"

using namespace userbpf;
using vm::RawInsn;

namespace {

constexpr uint32_t kCtxSize = 64;
constexpr size_t kMaxBodyItems = 120;
constexpr uint64_t kBudget = 1000000;

using Reader = fuzz::InputReader;

RawInsn mk(uint8_t code, int dst = 0, int src = 0, int16_t off = 0, int32_t imm = 0) {
  RawInsn r{};
  r.code = code;
  r.dst = static_cast<uint8_t>(dst);
  r.src = static_cast<uint8_t>(src);
  r.off = off;
  r.imm = imm;
  return r;
}

// An item: one or two instructions; jumps get their target once laid out.
struct Item {
  std::vector<RawInsn> insns;
  int jump_ahead = -1;  // forward distance in items (>= 1), for conditional jumps and ja
  bool jump_in_imm = false;
  bool call_sub = false; // bpf-to-bpf call of the subprogram
};

class Generator {
public:
  explicit Generator(Reader &in) : in_(in) {}

  std::vector<RawInsn> program() {
    std::vector<Item> items;
    items.push_back({{mk(0xbf, 6, 1)}}); // r6 = ctx
    for (int r : {0, 1, 2, 3, 4, 5, 7, 8, 9}) items.push_back(ld_imm64(r, value()));
    for (int k = 0; k < 8; k++) items.push_back({{mk(0x7a, 10, 0, static_cast<int16_t>(-64 + 8 * k), imm())}});
    const size_t body_begin = items.size();
    while (!in_.empty() && items.size() - body_begin < kMaxBodyItems) body_item(&items);
    const size_t body_end = items.size();
    // Epilogue: fold the registers (not r6, the ctx address) and the buffer.
    for (int r : {1, 2, 3, 4, 5, 7, 8, 9}) {
      items.push_back({{mk(0x27, 0, 0, 0, 31)}});
      items.push_back({{mk(0xaf, 0, r)}});
    }
    for (int k = 0; k < 8; k++) {
      items.push_back({{mk(0x79, 1, 10, static_cast<int16_t>(-64 + 8 * k))}});
      items.push_back({{mk(0x27, 0, 0, 0, 31)}});
      items.push_back({{mk(0xaf, 0, 1)}});
    }
    items.push_back({{mk(0x95)}});
    const size_t sub_item = items.size();
    bool called = false;
    for (const Item &it : items) called |= it.call_sub;
    // The subprogram (only when called: unreachable code is rejected): r0
    // from its arguments, through its own stack.
    if (called) {
      items.push_back({{mk(0xbf, 0, 1)}});
      items.push_back({{mk(0x0f, 0, 2)}});
      items.push_back({{mk(0x7b, 10, 3, -8)}});
      items.push_back({{mk(0x79, 4, 10, -8)}});
      items.push_back({{mk(0x2f, 0, 4)}});
      items.push_back({{mk(0xaf, 0, 5)}});
      items.push_back({{mk(0xb7, 6, 0, 0, 12345)}}); // callee-saved: the caller's r6..r9 come back
      items.push_back({{mk(0xb7, 7, 0, 0, -1)}});
      items.push_back({{mk(0x95)}});
    }

    std::vector<size_t> slot(items.size() + 1);
    for (size_t i = 0; i < items.size(); i++) slot[i + 1] = slot[i] + items[i].insns.size();
    std::vector<RawInsn> out;
    for (size_t i = 0; i < items.size(); i++) {
      Item &it = items[i];
      int64_t target = -1;
      if (it.call_sub) target = static_cast<int64_t>(sub_item);
      if (it.jump_ahead > 0) target = static_cast<int64_t>(std::min(i + static_cast<size_t>(it.jump_ahead), body_end));
      if (target >= 0) {
        int64_t rel = static_cast<int64_t>(slot[static_cast<size_t>(target)]) - static_cast<int64_t>(slot[i]) - 1;
        if (it.jump_in_imm) it.insns[0].imm = static_cast<int32_t>(rel);
        else it.insns[0].off = static_cast<int16_t>(rel);
      }
      out.insert(out.end(), it.insns.begin(), it.insns.end());
    }
    return out;
  }

private:
  Reader &in_;

  // Any register but r6 (the ctx pointer) as a destination; any as a source.
  int dst_reg() {
    static const int kRegs[] = {0, 1, 2, 3, 4, 5, 7, 8, 9};
    return kRegs[in_.u8() % 9];
  }
  int src_reg() {
    static const int kRegs[] = {0, 1, 2, 3, 4, 5, 7, 8, 9};
    return kRegs[in_.u8() % 9];
  }
  int32_t imm() {
    uint8_t k = in_.u8();
    switch (k % 4) {
    case 0: return static_cast<int32_t>(k >> 2) - 32;
    case 1: return INT32_MIN + (k >> 6);
    default: return static_cast<int32_t>(in_.u64(4));
    }
  }
  uint64_t value() {
    uint8_t k = in_.u8();
    switch (k % 4) {
    case 0: return k >> 2;
    case 1: return static_cast<uint64_t>(-static_cast<int64_t>(k >> 2));
    case 2: return 0x8000000000000000ull >> (k >> 2);
    default: return in_.u64(8);
    }
  }
  static Item ld_imm64(int r, uint64_t v) {
    return {{mk(0x18, r, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(v))),
             mk(0, 0, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(v >> 32)))}};
  }
  // A memory operand: the stack buffer (r10 - 64 ..) or the context (r6).
  void memory(int size, int *base, int16_t *off) {
    uint8_t k = in_.u8();
    int slot = (k >> 1) % (64 / size);
    if (k & 1) {
      *base = 6;
      *off = static_cast<int16_t>(slot * size);
    } else {
      *base = 10;
      *off = static_cast<int16_t>(-64 + slot * size);
    }
  }

  void body_item(std::vector<Item> *items) {
    static const uint8_t kAluOps[] = {0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0};
    const uint8_t kind = in_.u8();
    const bool is64 = kind & 0x80;
    const uint8_t cls = is64 ? 0x07 : 0x04;
    switch (kind % 14) {
    case 0:
    case 1: { // ALU imm
      uint8_t op = kAluOps[in_.u8() % sizeof kAluOps];
      int16_t off = 0;
      int32_t v = imm();
      if (op == 0x60 || op == 0x70 || op == 0xc0) v = static_cast<int32_t>(static_cast<uint32_t>(v) % (is64 ? 64 : 32));
      if (op == 0x30 || op == 0x90) off = static_cast<int16_t>(in_.u8() & 1); // sdiv / smod
      items->push_back({{mk(cls | op, dst_reg(), 0, off, v)}});
      return;
    }
    case 2:
    case 3:
    case 4: { // ALU reg
      uint8_t op = kAluOps[in_.u8() % sizeof kAluOps];
      int16_t off = (op == 0x30 || op == 0x90) ? static_cast<int16_t>(in_.u8() & 1) : 0;
      items->push_back({{mk(cls | 0x08 | op, dst_reg(), src_reg(), off)}});
      return;
    }
    case 5: { // neg, byte swaps, movsx
      static const int32_t kWidths[] = {16, 32, 64};
      uint8_t k = in_.u8();
      switch (k % 5) {
      case 0: items->push_back({{mk(cls | 0x80, dst_reg())}}); return;
      case 1: items->push_back({{mk(0xd4, dst_reg(), 0, 0, kWidths[(k >> 3) % 3])}}); return;
      case 2: items->push_back({{mk(0xdc, dst_reg(), 0, 0, kWidths[(k >> 3) % 3])}}); return;
      case 3: items->push_back({{mk(0xd7, dst_reg(), 0, 0, kWidths[(k >> 3) % 3])}}); return;
      default: {
        static const int16_t kSx[] = {8, 16, 32};
        items->push_back(is64 ? Item{{mk(0xbf, dst_reg(), src_reg(), kSx[(k >> 3) % 3])}}
                              : Item{{mk(0xbc, dst_reg(), src_reg(), kSx[(k >> 3) % 2])}});
        return;
      }
      }
    }
    case 6: items->push_back(ld_imm64(dst_reg(), value())); return;
    case 7: { // load
      static const uint8_t kLoads[] = {0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91};
      uint8_t code = kLoads[in_.u8() % sizeof kLoads];
      int base;
      int16_t off;
      memory(vm::access_size(code), &base, &off);
      items->push_back({{mk(code, dst_reg(), base, off)}});
      return;
    }
    case 8: { // store reg or imm
      static const uint8_t kStores[] = {0x63, 0x6b, 0x73, 0x7b, 0x62, 0x6a, 0x72, 0x7a};
      uint8_t code = kStores[in_.u8() % sizeof kStores];
      int base;
      int16_t off;
      memory(vm::access_size(code), &base, &off);
      items->push_back((code & 0x07) == 0x03 ? Item{{mk(code, base, src_reg(), off)}}
                                             : Item{{mk(code, base, 0, off, imm())}});
      return;
    }
    case 9: { // atomic
      static const int32_t kAtomics[] = {0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1};
      int base;
      int16_t off;
      memory(is64 ? 8 : 4, &base, &off);
      items->push_back({{mk(is64 ? 0xdb : 0xc3, base, src_reg(), off, kAtomics[in_.u8() % 10])}});
      return;
    }
    case 10:
    case 11: { // conditional jump forward
      static const uint8_t kConds[] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0};
      uint8_t k = in_.u8();
      uint8_t code = static_cast<uint8_t>((k & 1 ? 0x05 : 0x06) | kConds[(k >> 1) % sizeof kConds]);
      Item it = k & 0x80 ? Item{{mk(code, dst_reg(), 0, 0, imm())}} : Item{{mk(code | 0x08, dst_reg(), src_reg())}};
      it.jump_ahead = 1 + in_.u8() % 8;
      items->push_back(it);
      return;
    }
    case 12: { // helper call (r1-r5 are scratched: set again) or bpf-to-bpf call
      if (in_.u8() & 1) {
        items->push_back({{mk(0x85, 0, 0, 0, BPF_FUNC_get_smp_processor_id)}});
        items->push_back({{mk(0xb7, 0, 0, 0, 0)}}); // the CPU may differ between the runs
      } else {
        Item call{{mk(0x85, 0, 1)}};
        call.call_sub = true;
        call.jump_in_imm = true;
        items->push_back(call);
      }
      for (int r = 1; r <= 5; r++) items->push_back(ld_imm64(r, value()));
      return;
    }
    default: { // ja / gotol to the next item (skipped code would be unreachable, which is rejected)
      Item it{{mk(in_.u8() & 1 ? 0x05 : 0x06)}};
      it.jump_in_imm = it.insns[0].code == 0x06;
      it.jump_ahead = 1;
      items->push_back(it);
      return;
    }
    }
  }
};

[[noreturn]] void report(const vm::DecodedProgram &prog, const std::string &what) {
  fprintf(stderr, "fuzz_jit: %s\n%s", what.c_str(), vm::disassemble(prog).c_str());
  abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 8 || !vm::jit_supported()) return 0;
  Reader in(data, size);
  uint8_t ctx_init[kCtxSize];
  for (uint8_t &b : ctx_init) b = in.u8();
  std::vector<RawInsn> insns = Generator(in).program();

  verifier::Options options;
  options.prog_type = verifier::kProgTypeMemory;
  options.gpl_compatible = true;
  options.privilege = verifier::Privilege::privileged();
  options.ctx_mem_size = kCtxSize;
  auto no_maps = [](int, verifier::MapInfo *) { return -EBADF; };
  verifier::Result res = verifier::verify(insns.data(), insns.size(), options, no_maps);
  static const bool verbose = getenv("USERBPF_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    fprintf(stderr, "fuzz_jit: %zu insns, verifier %d\n", insns.size(), res.err);
    if (res.err) {
      options.log_level = 1;
      std::string log = verifier::verify(insns.data(), insns.size(), options, no_maps).log;
      fprintf(stderr, "%s\n", log.substr(log.size() > 300 ? log.size() - 300 : 0).c_str());
    }
  }
  if (res.err) return 0; // the generator aims at accepted programs; the rest is not this target's business

  std::string error;
  std::unique_ptr<vm::Program> interp;
  if (vm::Program::create(res.program, &interp, &error)) report(res.program, "interpreter refused: " + error);
  uint8_t ctx_i[kCtxSize];
  memcpy(ctx_i, ctx_init, kCtxSize);
  vm::RunResult ri = interp->run(reinterpret_cast<uintptr_t>(ctx_i), kCtxSize, kBudget);
  if (ri.err == -ETIME) return 0; // (forward jumps only: cannot happen, but never run the JIT unbounded)

  for (bool blind : {false, true}) {
    vm::ProgramOptions po;
    po.engine = vm::Engine::kJit;
    po.jit.blind_constants = blind;
    std::unique_ptr<vm::Program> jit;
    if (int err = vm::Program::create(res.program, &jit, &error, po))
      report(res.program, "JIT refused (" + std::to_string(err) + "): " + error);
    uint8_t ctx_j[kCtxSize];
    memcpy(ctx_j, ctx_init, kCtxSize);
    vm::RunResult rj = jit->run(reinterpret_cast<uintptr_t>(ctx_j), kCtxSize);
    const char *how = blind ? " (blinded)" : "";
    if (rj.err != ri.err)
      report(res.program, std::string("error differs") + how + ": JIT " + std::to_string(rj.err) + ", interpreter " +
                              std::to_string(ri.err));
    if (rj.r0 != ri.r0) {
      char buf[128];
      snprintf(buf, sizeof buf, "r0 differs%s: JIT 0x%" PRIx64 ", interpreter 0x%" PRIx64, how, rj.r0, ri.r0);
      report(res.program, buf);
    }
    if (memcmp(ctx_i, ctx_j, kCtxSize) != 0) report(res.program, std::string("context memory differs") + how);
  }
  return 0;
}
