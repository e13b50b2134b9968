// libFuzzer soundness target for the verifier: every program verify()
// accepts must be memory safe when it runs.
//
// Input: a 4-byte header choosing the options, then the program.
//   byte 0  bit 0: raw mode (the rest is raw 8-byte instructions, for
//                  mutations of the seed corpus) or template mode (the rest
//                  is read as a stream of instruction templates, below);
//           bits 1-2: privilege (0/1 privileged, 2 CAP_BPF only, 3 none);
//           bit 3: BPF_F_STRICT_ALIGNMENT; bits 4-7: prandom seed.
//   byte 1  ctx_mem_size - 1 (1..224 bytes of memory behind r1); 224-255:
//           socket-filter mode instead (below)
//   byte 2  value_size of the one ARRAY map (8 + b % 57: 8..64)
//   byte 3  max_entries (1 + b % 4), the rest the prandom seed
// The program type is kProgTypeMemory; the map is fd kMapFd (key_size 4).
// In socket-filter mode it is BPF_PROG_TYPE_SOCKET_FILTER, whose context is
// a struct __sk_buff block (its fields read and written in place; `sk`
// always NULL; no packet pointers for this type), so that LD_ABS / LD_IND
// can be accepted: the checked interpreter then requires r6 to be the
// context itself, gives r0 a value of the load's size or (1 run in 4 loads)
// returns 0 from the current function at once, and clobbers r1-r5.
// The top two bits of bytes 2 and 3 choose which of subprograms 1-4 are
// global functions: the program then comes with a BTF and func_info, each
// global with a prototype drawn from the seed (1-5 arguments: int, or, more
// often, a pointer to 1-64 bytes that may be NULL or is arg:nonnull), so the
// verifier checks each global on its own and its calls against the
// prototype; the checked interpreter then runs the calls with real values.
// Templates also call bpf_loop (helper 181) with a later subprogram as the
// callback (the program then always comes with BTF and func_info, which the
// kernel requires for BPF_PSEUDO_FUNC), a count that is a small constant or
// any register, a context on the stack, NULL or any pointer, and flags
// mostly 0; the checked interpreter runs the callback as the kernel does,
// in a new frame per iteration, and flags a return value other than 0 or 1.
// They call bpf_for_each_map_elem (helper 164) the same way, over the ARRAY
// map: the callback runs once per element with r1 = the map, r2 = a
// read-only 4-byte key (one slot per call depth, readable for the whole run
// as the engines' are; a write through it is a violation), r3 = that
// element's value, r4 = the context.
//
// Checks:
//   - verify() does not crash (the sanitizers), nor hang (-timeout), and
//     gives the same verdict twice (below 200k processed insns);
//   - an accepted program runs, four times (ctx block and map values
//     patterned, zero, 0xff, random; different prandom streams), in a
//     *checked* interpreter (this file, a plain switch over vm::Insn,
//     independent of the fast interpreter) over virtual addresses. Every
//     register and memory byte carries a provenance (which stack frame
//     instance, the ctx block, which map value, the map, derived from a
//     pointer, or a scalar): every load, store, atomic and helper memory
//     argument must go through a pointer and stay inside the region it
//     points into (its own 512-byte frame, while that frame lives; the ctx
//     block; its map value). Helpers are emulated here (the real helper
//     table is never called); calls deeper than 8 frames, callx, helpers
//     the program type may not call, a map argument that is not the map are
//     all verifier bugs. A run stops after kBudget instructions (a long loop
//     is not a bug). The generator also emits LD_ABS / LD_IND (well formed
//     or not): in memory mode, which has no socket buffer, the verifier must
//     refuse every one, and one that runs is a bug;
//   - without CAP_PERFMON (allow_ptr_leaks false), a pointer or a value
//     derived from one must not reach r0 at the main program's exit, memory
//     other than the stack, a helper's memory or scalar arguments, nor a
//     comparison other than a JEQ/JNE against 0.
// A violation prints the options, the disassembly, the run's trace tail and
// the verifier's level-2 log, then aborts. LLVMFuzzerInitialize first runs
// the checker on hand-written bad programs: it must flag each one; and it
// checks that every helper the verifier allows the two program types is
// emulated here (a helper added to the verifier but not to the checker made
// the checker report its first accepted call as a verifier bug).
// USERBPF_FUZZ_VERBOSE=1 prints each verdict with the end of its log.
#include <cerrno>
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <linux/bpf.h>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_input.h"
#include "btf/btf.h"
#include "btf/btf_object.h"
#include "btf_builder.h"
#include "helpers/helpers.h"
#include "verifier/prog_types.h"
#include "verifier/verifier.h"
#include "vm/decoder.h"
#include "vm/disasm.h"
#include "vm/isa.h"

using namespace userbpf;
using vm::Op;
using vm::RawInsn;
using vm::Shape;

namespace {

constexpr int kMapFd = 7;
constexpr uint64_t kBudget = 100000;
constexpr size_t kMaxTemplateInsns = 400;
constexpr int kMaxFuncs = 4;

// Virtual addresses the checked interpreter gives the regions: far apart, so
// an access that escapes one lands in none.
constexpr uint64_t kStackBase = 0x0000100000000000ull; // 8 frames, top = base + 4096
constexpr uint64_t kStackTop = kStackBase + vm::kMaxCallFrames * vm::kStackSize;
constexpr uint64_t kCtxBase = 0x0000200000000000ull;
constexpr uint64_t kValueBase = 0x0000300000000000ull; // element i at + i * kValueStride
constexpr uint64_t kValueStride = 0x0000000100000000ull;
constexpr uint64_t kMapPtr = 0x0000400000000000ull;    // the map "object": not memory
constexpr uint64_t kFuncBase = 0x0000500000000000ull;  // LD_IMM64 of a subprogram: + its pc
constexpr uint64_t kKeyBase = 0x0000600000000000ull;   // for_each keys: the walk at depth d at + 8 * d

struct Config {
  bool raw = false;
  bool skb = false; // socket-filter mode: the context is a __sk_buff block
  int priv_mode = 0;
  bool strict_align = false;
  uint32_t mem_size = 1, value_size = 8, max_entries = 1;
  uint32_t seed = 0;
  uint32_t globals = 0; // bit i-1: subprogram i (1..4) is a global function
  std::shared_ptr<const btf::Btf> btf; // with func_info, when some subprogram is global
  std::vector<verifier::FuncInfo> func_info;

  verifier::Privilege privilege() const {
    switch (priv_mode) {
    case 2: return verifier::Privilege::unprivileged();
    case 3: return {false, false, false, false, false};
    default: return verifier::Privilege::privileged();
    }
  }
};

verifier::Options make_options(const Config &cfg, uint32_t log_level) {
  verifier::Options o;
  o.prog_type = cfg.skb ? BPF_PROG_TYPE_SOCKET_FILTER : verifier::kProgTypeMemory;
  o.prog_flags = cfg.strict_align ? BPF_F_STRICT_ALIGNMENT : 0;
  o.gpl_compatible = true;
  o.privilege = cfg.privilege();
  o.log_level = log_level;
  o.ctx_mem_size = cfg.mem_size;
  o.btf = cfg.btf.get();
  o.func_info = cfg.func_info;
  return o;
}

// The BTF and func_info of a program whose subprograms 1-4 are global as
// cfg.globals says: one FUNC per subprogram, the globals with a prototype
// drawn from the seed, the others static. Nothing when no subprogram is.
void describe_functions(Config *cfg, const std::vector<RawInsn> &insns) {
  const std::vector<uint32_t> starts =
      subprog_starts(reinterpret_cast<const struct bpf_insn *>(insns.data()), static_cast<uint32_t>(insns.size()));
  bool any = false;
  for (size_t i = 1; i < starts.size() && i <= 4; i++) any |= (cfg->globals >> (i - 1)) & 1;
  for (size_t i = 0; i < insns.size(); i++) // a callback's address needs func_info
    any |= insns[i].code == 0x18 && insns[i].src == static_cast<uint8_t>(vm::Pseudo::kFunc);
  if (!any) return;
  ubt::BtfBuilder b;
  const uint32_t int_id = b.int_type("int", 4, 32);
  const uint32_t u8_id = b.int_type("unsigned char", 1, 8, 0);
  const uint32_t main_proto = b.func_proto(int_id, {{"mem", b.ref(BTF_KIND_PTR, u8_id)}});
  std::vector<uint32_t> func_ids;
  uint32_t h = cfg->seed * 2654435761u + 1;
  for (size_t i = 0; i < starts.size(); i++) {
    const bool global = i >= 1 && i <= 4 && ((cfg->globals >> (i - 1)) & 1);
    if (i == 0 || !global) {
      func_ids.push_back(b.func("f" + std::to_string(i), main_proto, i == 0 ? BTF_FUNC_GLOBAL : BTF_FUNC_STATIC));
      continue;
    }
    // Mostly one argument, mostly a pointer to a few bytes: what the
    // generator's calls pass in r1 (the ctx block or a stack pointer), so
    // that many calls pass the call-site check and the function runs.
    h = h * 1103515245u + 12345u;
    const uint32_t nargs = (h >> 8) % 4 ? 1 : 1 + (h >> 12) % 5;
    std::vector<std::pair<std::string, uint32_t>> params;
    std::vector<uint32_t> nonnull;
    for (uint32_t a = 0; a < nargs; a++) {
      h = h * 1103515245u + 12345u;
      const uint32_t kind = (h >> 10) % 4, bytes = 1 + ((h >> 16) & 0x20 ? (h >> 20) % 64 : (h >> 20) % 8);
      if (kind == 0) {
        params.push_back({"x" + std::to_string(a), int_id});
        continue;
      }
      params.push_back({"p" + std::to_string(a), b.ref(BTF_KIND_PTR, b.array(u8_id, int_id, bytes))});
      if (kind == 1) nonnull.push_back(a);
    }
    const uint32_t fn = b.func("f" + std::to_string(i), b.func_proto(int_id, params), BTF_FUNC_GLOBAL);
    for (uint32_t a : nonnull) b.type(b.str("arg:nonnull"), BTF_KIND_DECL_TAG, 0, false, fn, {a});
    func_ids.push_back(fn);
  }
  const std::vector<uint8_t> blob = b.build();
  std::unique_ptr<btf::Btf> parsed;
  if (btf::Btf::parse(blob.data(), static_cast<uint32_t>(blob.size()), nullptr, &parsed) != 0) {
    fprintf(stderr, "fuzz_verifier: the harness built a BTF the parser refuses\n");
    abort();
  }
  cfg->btf = std::move(parsed);
  for (size_t i = 0; i < starts.size(); i++) cfg->func_info.push_back({starts[i], func_ids[i]});
}

verifier::MapResolver make_resolver(const Config &cfg) {
  return [cfg](int fd, verifier::MapInfo *info) -> int {
    if (fd != kMapFd) return -EBADF;
    info->type = BPF_MAP_TYPE_ARRAY;
    info->key_size = 4;
    info->value_size = cfg.value_size;
    info->max_entries = cfg.max_entries;
    info->map_flags = 0;
    info->id = 1;
    info->frozen = false;
    info->runtime_ptr = kMapPtr;
    info->value_base = kValueBase;
    return 0;
  };
}

// ---------------------------------------------------------------- templates

using Reader = fuzz::InputReader;

// Rows of vm::kOps by shape.
struct OpsByShape {
  std::vector<const vm::OpInfo *> by[static_cast<int>(Shape::kLdInd) + 1]; // kLdInd: the last shape
  OpsByShape() {
    for (const vm::OpInfo &o : vm::kOps) by[static_cast<int>(o.shape)].push_back(&o);
  }
  const vm::OpInfo *pick(Shape s, uint8_t b) const {
    const auto &v = by[static_cast<int>(s)];
    return v[b % v.size()];
  }
};
const OpsByShape &ops_by_shape() {
  static const OpsByShape t;
  return t;
}

class Generator {
public:
  Generator(Reader &in, const Config &cfg) : in_(in), cfg_(cfg) {
    funcs_.emplace_back();
    if (cfg_.skb) emit(mk(0xbf, 6, 1, 0, 0)); // r6 = the skb, as LD_ABS wants it
  }

  std::vector<RawInsn> generate() {
    while (!in_.empty() && total() < kMaxTemplateInsns) one_template();
    close_func();
    return link();
  }

private:
  enum class Fix : uint8_t { kRel, kEnd, kCall, kFunc };
  struct Pending {
    size_t at;
    Fix kind;
    int value;
    bool in_imm; // gotol / call: the target is in imm, not off
  };
  struct Func {
    std::vector<RawInsn> code;
    std::vector<bool> tail;
    std::vector<Pending> fix;
    size_t epilogue = 0;
    bool closed = false;
  };

  size_t total() const {
    size_t n = 0;
    for (const Func &f : funcs_) n += f.code.size();
    return n;
  }

  static RawInsn mk(uint8_t code, int dst, int src, int16_t off, int32_t imm) {
    RawInsn r{};
    r.code = code;
    r.dst = static_cast<uint8_t>(dst & 0xf);
    r.src = static_cast<uint8_t>(src & 0xf);
    r.off = off;
    r.imm = imm;
    return r;
  }
  // An instruction of this row with these operands; the row's own
  // distinguishing field (off, imm or src) wins.
  static RawInsn mk(const vm::OpInfo &o, int dst, int src, int16_t off, int32_t imm) {
    switch (o.match) {
    case vm::Match::kNone: break;
    case vm::Match::kOff: off = static_cast<int16_t>(o.match_value); break;
    case vm::Match::kImm: imm = o.match_value; break;
    case vm::Match::kSrc: src = o.match_value; break;
    }
    return mk(o.opcode, dst, src, off, imm);
  }
  void emit(const RawInsn &r) {
    track(r);
    funcs_.back().code.push_back(r);
    funcs_.back().tail.push_back(false);
  }
  void emit_fix(const RawInsn &r, Fix kind, int value, bool in_imm) {
    funcs_.back().fix.push_back({funcs_.back().code.size(), kind, value, in_imm});
    emit(r);
  }
  void emit_ld_imm64(int dst, int pseudo, int32_t lo, int32_t hi) {
    emit(mk(0x18, dst, pseudo, 0, lo)); // tracks dst
    funcs_.back().code.push_back(mk(0, 0, 0, 0, hi));
    funcs_.back().tail.push_back(true);
  }
  void emit_map(int dst) { emit_ld_imm64(dst, static_cast<int>(vm::Pseudo::kMapFd), kMapFd, 0); }

  // Registers: reads mostly pick one written before (on some path), so
  // fewer programs die on "!read_ok"; writes pick any of r0..r9.
  int pick_live(bool allow_fp) {
    uint8_t b = in_.u8();
    uint16_t set = live_ & (allow_fp ? 0x7ff : 0x3ff);
    if ((b & 7) != 0 && set != 0) {
      int n = (b >> 3) % __builtin_popcount(set);
      for (int r = 0; r < vm::kNumRegs; r++)
        if ((set >> r & 1) && n-- == 0) return r;
    }
    return b % (allow_fp ? 11 : 10);
  }
  int reg() { return pick_live(false); }     // read (and maybe written): r0..r9
  int any_reg() { return pick_live(true); }  // read: r0..r10
  int wreg() { return in_.u8() % 10; }       // written only
  int ptr_reg() {
    static const int t[] = {10, 1, 0, 6, 7, 8, 9, 2, 3, 10, 1, 6, 4, 5, 10, 0};
    uint8_t b = in_.u8();
    int r = t[b % 16];
    return (live_ >> r & 1) || (b & 0x80) ? r : 10;
  }
  // What an emitted instruction writes (for the picks above).
  void track(const RawInsn &r) {
    const uint8_t cls = r.code & 7;
    if (cls == vm::kClassAlu || cls == vm::kClassAlu64 || cls == vm::kClassLdx || r.code == 0x18)
      live_ |= static_cast<uint16_t>(1u << r.dst);
    else if (r.code == 0x85)
      live_ = static_cast<uint16_t>((live_ & ~0x3eu) | 1u);
    else if ((r.code == 0xdb || r.code == 0xc3) && r.imm == vm::kAtomicCmpXchg)
      live_ |= 1;
  }
  int32_t imm() {
    const int32_t V = static_cast<int32_t>(cfg_.value_size), M = static_cast<int32_t>(cfg_.mem_size),
                  E = static_cast<int32_t>(cfg_.max_entries);
    const int32_t t[] = {0,  1,     -1,    2,     4,     7,    8,         16,        -8,      -4,  -16,
                         31, 32,    63,    64,    255,   256,  -512,      512,       V,       V - 1, V - 8,
                         M,  M - 1, M - 8, -M,    E,     E - 1, INT32_MAX, INT32_MIN, 0x10000, 3,   -2,
                         5,  6,     12,    0xff,  0xffff, 1 << 20, -(1 << 20)};
    uint8_t b = in_.u8();
    if (b >= 232) return static_cast<int32_t>(in_.u32());
    return t[b % (sizeof t / sizeof t[0])];
  }
  int16_t off() {
    const int V = static_cast<int>(cfg_.value_size), M = static_cast<int>(cfg_.mem_size);
    const int t[] = {0,    1,    2,    4,    8,    -1,   -2,   -4,    -8,    -12,   -16,   -24,   -32,
                     -64,  -128, -256, -504, -508, -511, -512, -513,  V - 1, V - 4, V - 8, V,     M - 1,
                     M - 4, M - 8, M,  16,   24,   32,   3,    -3,    -40,   -48,   -56,   -72,   -7};
    uint8_t b = in_.u8();
    if (b >= 240) return static_cast<int16_t>(in_.u8() | in_.u8() << 8);
    return static_cast<int16_t>(t[b % (sizeof t / sizeof t[0])]);
  }
  // A jump distance: forward, or (1 in 8) back, never onto itself. Back
  // edges make loops, which the verifier may walk up to its 1M insn limit
  // (seconds each here), so they are kept rare.
  int rel() {
    const uint8_t b = in_.u8();
    return (b & 7) == 0 ? -2 - static_cast<int>((b >> 3) % 8) : static_cast<int>((b >> 3) % 10);
  }

  void close_func() {
    Func &f = funcs_.back();
    if (f.closed) return;
    f.epilogue = f.code.size();
    switch (in_.u8() % 5) {
    case 0: case 1: emit(mk(0xb7, 0, 0, 0, 0)); break;   // r0 = 0
    case 2: break;                                        // r0 as it is
    case 3: emit(mk(0xbf, 0, any_reg(), 0, 0)); break;   // r0 = rX
    case 4: emit(mk(0xb7, 0, 0, 0, imm())); break;        // r0 = imm
    }
    emit(mk(0x95, 0, 0, 0, 0));
    f.closed = true;
  }

  // The rest of a callback helper's call, r1 already set: r2 = a later
  // subprogram, r3 = the callback's context (NULL, any pointer register or a
  // stack slot, as b says), r4 = flags (mostly 0), then the call.
  void emit_callback_call(uint8_t b, int32_t helper) {
    funcs_.back().fix.push_back({funcs_.back().code.size(), Fix::kFunc, in_.u8(), true});
    emit_ld_imm64(2, static_cast<int>(vm::Pseudo::kFunc), 0, 0);
    switch ((b >> 1) & 3) {
    case 0: emit(mk(0xb7, 3, 0, 0, 0)); break;
    case 3: emit(mk(0xbf, 3, ptr_reg(), 0, 0)); break;
    default:
      emit(mk(0xbf, 3, 10, 0, 0));
      emit(mk(0x07, 3, 0, 0, -8 * (1 + in_.u8() % 8)));
      break;
    }
    emit(mk(0xb7, 4, 0, 0, (b & 0x80) && (in_.u8() & 1) ? 1 : 0));
    emit(mk(0x85, 0, 0, 0, helper));
  }

  void cond_jump(bool reg_form) {
    const vm::OpInfo &o = *ops_by_shape().pick(reg_form ? Shape::kJumpReg : Shape::kJumpImm, in_.u8());
    RawInsn r = mk(o, reg(), reg_form ? any_reg() : 0, 0, reg_form ? 0 : imm());
    uint8_t b = in_.u8();
    if (b & 1)
      emit_fix(r, Fix::kEnd, 0, false);
    else
      emit_fix(r, Fix::kRel, rel(), false);
  }

  void one_template() {
    const OpsByShape &ops = ops_by_shape();
    switch (in_.u8() % 31) {
    case 0: case 1: case 2: { // dst op= imm
      const vm::OpInfo &o = *ops.pick(Shape::kAluImm, in_.u8());
      int dst = (o.opcode & 0xf0) == 0xb0 ? wreg() : reg();
      emit(mk(o, dst, 0, 0, imm()));
      break;
    }
    case 3: case 4: { // dst op= src (movsx included)
      const vm::OpInfo &o = *ops.pick(Shape::kAluReg, in_.u8());
      int dst = (o.opcode & 0xf0) == 0xb0 ? wreg() : reg();
      int src = any_reg();
      emit(mk(o, dst, src, 0, 0));
      break;
    }
    case 5: { // neg, byte swaps
      uint8_t b = in_.u8();
      const vm::OpInfo &o = *ops.pick(b & 1 ? Shape::kEndian : Shape::kNeg, b >> 1);
      emit(mk(o, reg(), 0, 0, 0));
      break;
    }
    case 6: case 7: { // load
      const vm::OpInfo &o = *ops.pick(Shape::kLoad, in_.u8());
      int dst = wreg(), src = ptr_reg();
      emit(mk(o, dst, src, off(), 0));
      break;
    }
    case 8: { // store imm
      const vm::OpInfo &o = *ops.pick(Shape::kStoreImm, in_.u8());
      int dst = ptr_reg();
      int16_t of = off();
      emit(mk(o, dst, 0, of, imm()));
      break;
    }
    case 9: case 10: { // store reg
      const vm::OpInfo &o = *ops.pick(Shape::kStoreReg, in_.u8());
      int dst = ptr_reg(), src = any_reg();
      emit(mk(o, dst, src, off(), 0));
      break;
    }
    case 11: { // atomic
      const vm::OpInfo &o = *ops.pick(Shape::kAtomic, in_.u8());
      int dst = ptr_reg(), src = reg();
      emit(mk(o, dst, src, off(), 0));
      break;
    }
    case 12: case 13: cond_jump(false); break;
    case 14: cond_jump(true); break;
    case 15: { // mostly a conditional jump; sometimes ja / gotol (which leave code unreachable or loop)
      uint8_t b = in_.u8();
      if ((b & 6) != 0)
        cond_jump(b & 8);
      else if (b & 1)
        emit_fix(mk(0x06, 0, 0, 0, 0), Fix::kRel, rel(), true);
      else
        emit_fix(mk(0x05, 0, 0, 0, 0), Fix::kRel, rel(), false);
      break;
    }
    case 16: { // helper call, arguments as they are
      static const int32_t ids[] = {1, 2, 3, 5, 6, 7, 8, 28, 1, 1, 7, 4};
      uint8_t b = in_.u8();
      emit(mk(0x85, 0, 0, 0, b >= 250 ? static_cast<int32_t>(in_.u8()) : ids[b % 12]));
      break;
    }
    case 17: { // r0 = map_lookup_elem(map, &key), maybe checked and kept
      uint8_t b = in_.u8();
      emit_map(1);
      if (b & 1)
        emit(mk(0x62, 10, 0, -4, static_cast<int32_t>(in_.u8() % (cfg_.max_entries + 2))));
      else
        emit(mk(0x63, 10, reg(), -4, 0));
      emit(mk(0xbf, 2, 10, 0, 0));
      emit(mk(0x07, 2, 0, 0, -4));
      emit(mk(0x85, 0, 0, 0, BPF_FUNC_map_lookup_elem));
      if (b & 2) emit_fix(mk(0x15, 0, 0, 0, 0), Fix::kEnd, 0, false); // if r0 == 0 goto end
      if (b & 4) emit(mk(0xbf, 6 + ((b >> 3) & 3), 0, 0, 0));          // r6..r9 = r0
      break;
    }
    case 18: { // map_update_elem(map, &key, value, flags)
      uint8_t b = in_.u8();
      emit_map(1);
      emit(mk(0x62, 10, 0, -4, static_cast<int32_t>(in_.u8() % (cfg_.max_entries + 2))));
      emit(mk(0xbf, 2, 10, 0, 0));
      emit(mk(0x07, 2, 0, 0, -4));
      if (b & 1) {
        const int32_t words = static_cast<int32_t>((cfg_.value_size + 7) / 8);
        for (int32_t i = 0; i < words; i++) emit(mk(0x7a, 10, 0, static_cast<int16_t>(-8 - 8 * (words - i)), 0));
        emit(mk(0xbf, 3, 10, 0, 0));
        emit(mk(0x07, 3, 0, 0, -8 - 8 * words));
      } else {
        emit(mk(0xbf, 3, ptr_reg(), 0, 0));
      }
      emit(mk(0xb7, 4, 0, 0, (b >> 1) % 4));
      emit(mk(0x85, 0, 0, 0, BPF_FUNC_map_update_elem));
      break;
    }
    case 19: { // LD_IMM64: constant, map, map value
      uint8_t b = in_.u8();
      int dst = wreg();
      int kind = b % 4;
      if (kind >= 2 && cfg_.max_entries != 1 && (b & 0x30)) kind = 1; // direct values need max_entries 1
      switch (kind) {
      case 0: emit_ld_imm64(dst, 0, imm(), imm()); break;
      case 1: emit_map(dst); break;
      default:
        emit_ld_imm64(dst, static_cast<int>(vm::Pseudo::kMapValue), kMapFd,
                      static_cast<int32_t>(in_.u8() % (cfg_.value_size + 2)));
        break;
      }
      break;
    }
    case 20: { // copy a pointer, maybe moved
      static const int srcs[] = {10, 1, 0, 6, 7};
      uint8_t b = in_.u8();
      int dst = wreg();
      emit(mk(0xbf, dst, srcs[b % 5], 0, 0));
      if (b & 8) emit(mk(0x07, dst, 0, 0, imm()));
      break;
    }
    case 21: { // bounds check, then pointer += scalar
      uint8_t b = in_.u8();
      int s = reg(), p = ptr_reg();
      static const uint8_t jumps[] = {0x25, 0x35, 0x65, 0x75, 0xa5, 0xb5, 0x26, 0xa6};
      emit_fix(mk(jumps[b % 8], s, 0, 0, imm()), Fix::kEnd, 0, false);
      if (b & 8) emit_fix(mk(0xc5, s, 0, 0, 0), Fix::kEnd, 0, false); // if s s< 0 goto end
      if (b & 16) emit(mk(0x57, s, 0, 0, imm()));                        // s &= imm
      if (p != 10) emit(mk(0x0f, p, s, 0, 0));                           // p += s
      break;
    }
    case 22: { // bpf-to-bpf call, or start the next subprogram
      uint8_t b = in_.u8();
      if ((b & 1) && funcs_.size() < kMaxFuncs) {
        close_func();
        funcs_.emplace_back();
        live_ = (1u << 1) | (1u << 10); // a subprogram: its r1 argument, r10
        if (cfg_.skb && (b & 2)) emit(mk(0xbf, 6, 1, 0, 0)); // the skb passed on, maybe
      } else {
        emit_fix(mk(0x85, 0, 1, 0, 0), Fix::kCall, b >> 1, true);
      }
      break;
    }
    case 23: { // a conditional early exit (a bare one would leave the rest unreachable)
      uint8_t b = in_.u8();
      const vm::OpInfo &o = *ops_by_shape().pick(Shape::kJumpImm, b);
      int r = reg();
      emit(mk(o, r, 0, b & 0x80 ? 1 : 2, imm()));
      if (!(b & 0x80)) emit(mk(0xbf, 0, any_reg(), 0, 0));
      emit(mk(0x95, 0, 0, 0, 0));
      break;
    }
    case 24: { // scalar from the ctx block
      static const uint8_t loads[] = {0x71, 0x69, 0x61, 0x79};
      uint8_t b = in_.u8();
      int dst = wreg();
      emit(mk(loads[b % 4], dst, 1 + 5 * ((b >> 2) & 1), static_cast<int16_t>(in_.u8() % cfg_.mem_size), 0));
      break;
    }
    case 26: case 27: { // unknown scalar, arithmetic, range checks, pointer += scalar, access
      uint8_t b = in_.u8();
      const int sreg = wreg();
      if (b & 1) {
        static const uint8_t loads[] = {0x71, 0x69, 0x61, 0x79, 0x91, 0x89, 0x81, 0x71};
        const uint8_t code = loads[(b >> 1) & 7];
        const int size = vm::access_size(code);
        const int16_t at = static_cast<int16_t>(cfg_.mem_size > static_cast<uint32_t>(size)
                                                    ? in_.u8() % (cfg_.mem_size - static_cast<uint32_t>(size) + 1)
                                                    : 0);
        emit(mk(code, sreg, live_ >> 1 & 1 ? 1 : 6, at, 0));
      } else {
        emit(mk(0x85, 0, 0, 0, BPF_FUNC_get_prandom_u32));
        emit(mk(0xbf, sreg, 0, 0, 0));
      }
      for (int n = in_.u8() % 4; n > 0; n--) {
        const vm::OpInfo &o = *ops_by_shape().pick(in_.u8() & 1 ? Shape::kAluImm : Shape::kAluReg, in_.u8());
        if ((o.opcode & 0xf0) == 0xb0) continue; // not a mov: keep the scalar
        if (o.shape == Shape::kAluImm) {
          emit(mk(o, sreg, 0, 0, imm()));
        } else {
          int src = reg();
          emit(mk(o, sreg, src, 0, 0));
        }
      }
      for (int n = 1 + in_.u8() % 3; n > 0; n--) {
        const vm::OpInfo &o = *ops_by_shape().pick(Shape::kJumpImm, in_.u8());
        emit_fix(mk(o, sreg, 0, 0, imm()), Fix::kEnd, 0, false);
      }
      const int p = ptr_reg();
      const uint8_t c = in_.u8();
      if (p != 10) emit(mk(c & 1 ? 0x1f : 0x0f, p, sreg, 0, 0)); // p -= s / p += s
      static const uint8_t access[] = {0x71, 0x69, 0x61, 0x79, 0x73, 0x6b, 0x63, 0x7b};
      const uint8_t code = access[(c >> 1) & 7];
      if ((code & 7) == vm::kClassLdx) {
        int dst = wreg();
        emit(mk(code, dst, p == 10 ? 10 : p, off(), 0));
      } else {
        int src = any_reg();
        emit(mk(code, p, src, off(), 0));
      }
      break;
    }
    case 28: { // LD_ABS / LD_IND, mostly well formed, mostly with r6 = the ctx
      uint8_t b = in_.u8();
      if (b & 1) emit(mk(0xbf, 6, 1, 0, 0));
      const vm::OpInfo &o = *ops.pick(b & 2 ? Shape::kLdInd : Shape::kLdAbs, b >> 2);
      const bool odd = (b & 0xe0) == 0xe0; // a reserved field set
      emit(mk(o, odd ? reg() : 0, o.shape == Shape::kLdInd ? reg() : 0, odd ? off() : 0, imm()));
      live_ = static_cast<uint16_t>((live_ & ~0x3eu) | 1u); // r1-r5 clobbered, r0 loaded
      break;
    }
    case 29: { // bpf_loop(count, a later subprogram, ctx, flags)
      uint8_t b = in_.u8();
      if (b & 1) emit(mk(0xbf, 1, reg(), 0, 0));
      else emit(mk(0xb7, 1, 0, 0, b >> 4));
      emit_callback_call(b, BPF_FUNC_loop);
      break;
    }
    case 30: { // bpf_for_each_map_elem(map, a later subprogram, ctx, flags)
      uint8_t b = in_.u8();
      emit_map(1);
      emit_callback_call(b, BPF_FUNC_for_each_map_elem);
      break;
    }
    case 25: { // spill and fill through the stack
      uint8_t b = in_.u8();
      int16_t slot = static_cast<int16_t>(-8 * (1 + b % 8));
      emit(mk(0x7b, 10, any_reg(), slot, 0));
      int dst = wreg();
      emit(mk(b & 8 ? 0x61 : 0x79, dst, 10, static_cast<int16_t>(slot + ((b & 16) ? 4 : 0)), 0));
      break;
    }
    }
  }

  std::vector<RawInsn> link() {
    std::vector<size_t> start;
    std::vector<RawInsn> out;
    std::vector<bool> tail;
    for (const Func &f : funcs_) {
      start.push_back(out.size());
      out.insert(out.end(), f.code.begin(), f.code.end());
      tail.insert(tail.end(), f.tail.begin(), f.tail.end());
    }
    for (size_t i = 0; i < funcs_.size(); i++) {
      const Func &f = funcs_[i];
      const int64_t lo = static_cast<int64_t>(start[i]), ep = lo + static_cast<int64_t>(f.epilogue);
      for (const Pending &p : f.fix) {
        const int64_t at = lo + static_cast<int64_t>(p.at);
        int64_t target = 0;
        switch (p.kind) {
        case Fix::kRel:
          target = at + 1 + p.value;
          if (target < lo) target = lo;
          if (target > ep) target = ep;
          if (tail[static_cast<size_t>(target)]) target++;
          break;
        case Fix::kEnd: target = ep; break;
        case Fix::kCall: {
          // A later subprogram (no recursion), unless there is none; rarely any.
          size_t callee = static_cast<size_t>(p.value) % funcs_.size();
          if (i + 1 < funcs_.size() && p.value < 120)
            callee = i + 1 + static_cast<size_t>(p.value) % (funcs_.size() - i - 1);
          if (callee <= i && p.value < 120) { // no later subprogram: r0 = 0 instead
            out[static_cast<size_t>(at)] = mk(0xb7, 0, 0, 0, 0);
            continue;
          }
          target = static_cast<int64_t>(start[callee]);
          break;
        }
        case Fix::kFunc: {
          // A later subprogram; without one, a plain constant (the verifier then refuses r2).
          if (i + 1 >= funcs_.size()) {
            out[static_cast<size_t>(at)].src = 0;
            continue;
          }
          target = static_cast<int64_t>(start[i + 1 + static_cast<size_t>(p.value) % (funcs_.size() - i - 1)]);
          break;
        }
        }
        const int64_t d = target - (at + 1);
        RawInsn &r = out[static_cast<size_t>(at)];
        if (p.in_imm)
          r.imm = static_cast<int32_t>(d);
        else
          r.off = static_cast<int16_t>(d);
      }
    }
    return out;
  }

  Reader &in_;
  const Config &cfg_;
  std::vector<Func> funcs_;
  uint16_t live_ = (1u << 1) | (1u << 2) | (1u << 10); // main: r1 = ctx, r2 = size, r10
};

// ---------------------------------------------------------- checked interpreter

struct Violation {
  std::string what;
};

// What a value is, as far as the checker can tell: the region a pointer
// points into (stack: the frame *instance*, so a frame reused by a later
// call is a different one), or "derived" (computed from a pointer in a way
// that leaves no pointer: it still must not leak), or nothing (a scalar).
// Registers carry one, memory one per byte.
enum : uint32_t {
  kProvNone = 0,
  kProvStack = 1u << 28, // | frame instance
  kProvCtx = 2u << 28,
  kProvValue = 3u << 28, // | element
  kProvMap = 4u << 28,
  kProvFunc = 5u << 28,
  kProvDerived = 6u << 28,
  kProvKey = 7u << 28, // | the call depth whose for_each walk handed it out
  kProvKindMask = 0xfu << 28,
};
constexpr uint32_t prov_kind(uint32_t p) { return p & kProvKindMask; }
constexpr bool prov_is_pointer(uint32_t p) { return p != kProvNone && prov_kind(p) != kProvDerived; }

class Checker {
public:
  // variant picks the memory the program starts with (ctx block, map
  // values) and the prandom stream, so runs take different paths.
  Checker(const Config &cfg, const vm::DecodedProgram &prog, const std::vector<RawInsn> &raw, int variant = 0)
      : cfg_(cfg), prog_(prog), raw_(raw), unpriv_(!cfg.privilege().allow_ptr_leaks) {
    stack_.assign(vm::kMaxCallFrames * vm::kStackSize, 0xa5);
    stack_prov_.assign(stack_.size(), kProvNone);
    rng_ = (cfg.seed + 1000u * static_cast<uint32_t>(variant)) * 2654435761u + 1;
    if (rng_ == 0) rng_ = 1;
    ctx_.resize(cfg.mem_size);
    values_.resize(static_cast<size_t>(cfg.value_size) * cfg.max_entries);
    auto fill = [&](std::vector<uint8_t> &v, size_t salt) {
      for (size_t i = 0; i < v.size(); i++) {
        switch (variant % 4) {
        case 0: v[i] = static_cast<uint8_t>(i * 37 + 11 + salt); break;
        case 1: v[i] = 0; break;
        case 2: v[i] = 0xff; break;
        default: v[i] = static_cast<uint8_t>(next_random()); break;
        }
      }
    };
    fill(ctx_, 0);
    fill(values_, 101);
    // A socket buffer's sk: NULL, so the verifier must have made the
    // program check it (sk_or_null) before any use.
    if (cfg.skb) memset(ctx_.data() + offsetof(struct __sk_buff, sk), 0, sizeof(uint64_t));
    ctx_prov_.assign(ctx_.size(), kProvNone);
    values_prov_.assign(values_.size(), kProvNone);
  }

  // true: ran to the end or out of budget; false: *v says what went wrong.
  bool run(Violation *v) {
    try {
      execute();
      return true;
    } catch (const Violation &e) {
      *v = e;
      return false;
    }
  }
  const std::string &trace() const { return trace_; }

private:
  struct Frame {
    size_t return_pc;
    uint64_t saved[4];
    uint32_t saved_prov[4];
    uint32_t instance; // of the frame the call made
    // A bpf_loop or bpf_for_each_map_elem callback's frame: its exit runs
    // the next iteration (for_each: index = the element, count = max_entries).
    bool loop = false;
    bool for_each = false;
    size_t callback_pc = 0;
    uint64_t loop_ctx = 0;
    uint32_t loop_ctx_prov = 0;
    uint32_t index = 0, count = 0;
  };
  struct Mem {
    uint8_t *bytes;
    uint32_t *prov;
    const char *region;
    bool stack;
    bool read_only; // a for_each key
  };
  struct Finish {};

  [[noreturn]] void violation(size_t pc, const std::string &what) {
    char head[64];
    snprintf(head, sizeof head, "insn %zu: ", pc);
    throw Violation{head + what};
  }

  static std::string hex(uint64_t v) {
    char b[32];
    snprintf(b, sizeof b, "0x%" PRIx64, v);
    return b;
  }

  static std::string prov_name(uint32_t p) {
    switch (prov_kind(p)) {
    case kProvNone: return "a scalar";
    case kProvStack: return "a stack pointer (frame instance " + std::to_string(p & ~kProvKindMask) + ")";
    case kProvCtx: return "the ctx pointer";
    case kProvValue: return "a pointer to map value " + std::to_string(p & ~kProvKindMask);
    case kProvMap: return "the map pointer";
    case kProvFunc: return "a function pointer";
    case kProvKey: return "a map key pointer (walk at depth " + std::to_string(p & ~kProvKindMask) + ")";
    default: return "a value derived from a pointer";
    }
  }

  std::string describe(uint64_t addr) const {
    auto rel = [&](const char *name, uint64_t base) {
      return std::string(name) + std::to_string(static_cast<int64_t>(addr - base));
    };
    if (addr >= kStackBase - (1ull << 32) && addr < kStackTop + (1ull << 32)) return rel("stack top", kStackTop);
    if (addr >= kCtxBase - (1ull << 32) && addr < kCtxBase + (1ull << 32)) return rel("ctx+", kCtxBase);
    if (addr >= kValueBase - (1ull << 32) && addr < kValueBase + 5 * kValueStride) return rel("value[0]+", kValueBase);
    if (addr >= kMapPtr - (1ull << 32) && addr < kMapPtr + (1ull << 32)) return rel("map+", kMapPtr);
    if (addr >= kKeyBase - (1ull << 32) && addr < kKeyBase + (1ull << 32)) return rel("key[0]+", kKeyBase);
    return "no region near";
  }

  // The bytes behind [addr, addr+size), accessed through a register of
  // provenance `via`: they must lie inside the region that pointer points
  // into (one stack frame: the live instance it was taken from).
  Mem translate(size_t pc, uint64_t addr, uint64_t size, uint32_t via, const char *why) {
    auto what = [&] { // only on a violation: this runs for every access
      return std::string(why) + " of " + std::to_string(size) + " bytes at " + hex(addr) + " (" + describe(addr) +
             ") through " + prov_name(via);
    };
    auto inside = [&](uint64_t base, uint64_t len) {
      return addr >= base && addr - base <= len && len - (addr - base) >= size;
    };
    switch (prov_kind(via)) {
    case kProvStack: {
      const uint32_t instance = via & ~kProvKindMask;
      int frame = -1;
      for (int f = 0; f <= depth_; f++)
        if (frame_instance_[f] == instance) frame = f;
      if (frame < 0) violation(pc, what() + ": that frame is gone");
      const uint64_t top = kStackTop - static_cast<uint64_t>(frame) * vm::kStackSize;
      if (!inside(top - vm::kStackSize, vm::kStackSize))
        violation(pc, what() + ": outside its frame (frame " + std::to_string(frame) + ", offset " +
                          std::to_string(static_cast<int64_t>(addr - top)) + ")");
      const size_t at = static_cast<size_t>(addr - kStackBase);
      return {stack_.data() + at, stack_prov_.data() + at, "stack", true, false};
    }
    case kProvCtx:
      if (!inside(kCtxBase, cfg_.mem_size)) violation(pc, what() + ": outside the ctx block");
      return {ctx_.data() + (addr - kCtxBase), ctx_prov_.data() + (addr - kCtxBase), "ctx", false, false};
    case kProvValue: {
      const uint32_t i = via & ~kProvKindMask;
      const uint64_t base = kValueBase + i * kValueStride;
      if (i >= cfg_.max_entries || !inside(base, cfg_.value_size)) violation(pc, what() + ": outside that value");
      const size_t at = static_cast<size_t>(i) * cfg_.value_size + static_cast<size_t>(addr - base);
      return {values_.data() + at, values_prov_.data() + at, "map value", false, false};
    }
    case kProvKey: {
      const uint32_t d = via & ~kProvKindMask;
      if (d >= static_cast<uint32_t>(vm::kMaxCallFrames) || !inside(kKeyBase + 8 * d, 4))
        violation(pc, what() + ": outside that key");
      const size_t at = 4 * d + static_cast<size_t>(addr - (kKeyBase + 8 * d));
      return {keys_ + at, keys_prov_ + at, "map key", false, true};
    }
    default: violation(pc, what() + ": not a pointer to memory");
    }
  }

  // Provenance of `size` bytes read from memory: a whole 8-byte pointer
  // spilled there, or derived if any byte came from a pointer.
  static uint32_t read_prov(const uint32_t *p, int size) {
    bool any = false, same = size == 8;
    for (int i = 0; i < size; i++) {
      any |= p[i] != kProvNone;
      same &= p[i] == p[0];
    }
    if (!any) return kProvNone;
    return same && prov_is_pointer(p[0]) ? p[0] : kProvDerived;
  }

  uint64_t load(size_t pc, uint64_t addr, int size, uint32_t via, uint32_t *prov) {
    Mem m = translate(pc, addr, static_cast<uint64_t>(size), via, "read");
    uint64_t v = 0;
    memcpy(&v, m.bytes, static_cast<size_t>(size));
    *prov = read_prov(m.prov, size);
    return v;
  }
  void store(size_t pc, uint64_t addr, int size, uint32_t via, uint64_t v, uint32_t prov) {
    Mem m = translate(pc, addr, static_cast<uint64_t>(size), via, "write");
    if (m.read_only) violation(pc, "write into a read-only " + std::string(m.region));
    if (prov != kProvNone && unpriv_ && !m.stack)
      violation(pc, std::string("pointer leaks into ") + m.region + " memory without allow_ptr_leaks");
    memcpy(m.bytes, &v, static_cast<size_t>(size));
    // A narrower store of a pointer leaves pointer bytes, not a pointer.
    const uint32_t p = size == 8 || prov == kProvNone ? prov : kProvDerived;
    for (int i = 0; i < size; i++) m.prov[i] = p;
  }

  // A helper reads size bytes through register r (a key or a value).
  Mem helper_read(size_t pc, int r, uint64_t size, const char *what) {
    Mem m = translate(pc, reg_[r], size, prov_[r], what);
    if (unpriv_)
      for (uint64_t i = 0; i < size; i++)
        if (m.prov[i] != kProvNone) violation(pc, std::string(what) + " reads pointer bytes without allow_ptr_leaks");
    return m;
  }

  // A helper fills size bytes through register r (ARG_PTR_TO_UNINIT_MEM with
  // ARG_CONST_SIZE): writable memory other than the socket buffer, size > 0.
  void helper_write(size_t pc, int r, uint64_t size, const char *what) {
    if (size == 0) violation(pc, std::string(what) + " of 0 bytes accepted (ARG_CONST_SIZE)");
    if (cfg_.skb && prov_kind(prov_[r]) == kProvCtx) violation(pc, std::string(what) + " into the socket buffer");
    Mem m = translate(pc, reg_[r], size, prov_[r], what);
    if (m.read_only) violation(pc, std::string(what) + " into a read-only " + m.region);
    memset(m.bytes, 0, static_cast<size_t>(size));
    for (uint64_t i = 0; i < size; i++) m.prov[i] = kProvNone;
  }

  uint32_t next_random() {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 17;
    rng_ ^= rng_ << 5;
    return rng_;
  }

  void poison(int r) {
    reg_[r] = 0x0bad0000deadbe00ull | static_cast<uint64_t>(r);
    prov_[r] = kProvNone;
  }

  // A new frame above the current one (a bpf-to-bpf call, a callback).
  void enter_frame(size_t pc, Frame f) {
    if (depth_ + 1 >= vm::kMaxCallFrames) violation(pc, "call depth beyond " + std::to_string(vm::kMaxCallFrames));
    depth_++;
    f.instance = frame_instance_[depth_] = next_instance_++;
    frames_.push_back(f);
    reg_[10] -= vm::kStackSize;
    prov_[10] = kProvStack | f.instance;
    poison(0);
    for (int r = 6; r <= 9; r++) poison(r);
    // The callee's frame starts uninitialized.
    const size_t lo = static_cast<size_t>(reg_[10] - vm::kStackSize - kStackBase);
    memset(stack_.data() + lo, 0xa5, vm::kStackSize);
    for (size_t i = 0; i < vm::kStackSize; i++) stack_prov_[lo + i] = kProvNone;
  }

  // One iteration of a callback. bpf_loop's: r1 = index, r2 = ctx.
  // bpf_for_each_map_elem's: r1 = the map, r2 = the key (the caller's
  // depth's slot, holding the index), r3 = the element's value, r4 = ctx.
  // Returns its pc.
  size_t enter_callback(size_t pc, const Frame &loop) {
    const uint32_t walk_depth = static_cast<uint32_t>(depth_);
    enter_frame(pc, loop);
    for (int r = 1; r <= 5; r++) poison(r);
    if (loop.for_each) {
      memcpy(keys_ + 4 * walk_depth, &loop.index, 4);
      reg_[1] = kMapPtr;
      prov_[1] = kProvMap;
      reg_[2] = kKeyBase + 8 * walk_depth;
      prov_[2] = kProvKey | walk_depth;
      reg_[3] = kValueBase + loop.index * kValueStride;
      prov_[3] = kProvValue | loop.index;
      reg_[4] = loop.loop_ctx;
      prov_[4] = loop.loop_ctx_prov;
    } else {
      reg_[1] = loop.index;
      prov_[1] = kProvNone;
      reg_[2] = loop.loop_ctx;
      prov_[2] = loop.loop_ctx_prov;
    }
    return loop.callback_pc;
  }

  // The callback argument r2 of bpf_loop / bpf_for_each_map_elem: what the
  // verifier promised, a subprogram. Returns its pc.
  size_t callback_target(size_t pc, const char *helper) {
    const uint64_t target = reg_[2] - kFuncBase;
    bool subprog_start = prov_kind(prov_[2]) == kProvFunc && target < prog_.insns.size();
    if (subprog_start) {
      subprog_start = false;
      for (size_t i = 0; i < prog_.insns.size(); i++) {
        const vm::Insn &c = prog_.insns[i];
        if (!c.ld_imm64_tail && ((c.op == Op::CALL_LOCAL) || (c.op == Op::LD_IMM64 && c.pseudo == vm::Pseudo::kFunc)) &&
            static_cast<uint64_t>(c.jump_target(i)) == target)
          subprog_start = true;
      }
    }
    if (!subprog_start)
      violation(pc, std::string(helper) + "'s callback r2 = " + hex(reg_[2]) + " (" + prov_name(prov_[2]) + ")");
    if (!(prov_kind(prov_[3]) == kProvStack || (prov_[3] == kProvNone && reg_[3] == 0)))
      violation(pc, std::string(helper) + "'s ctx r3 = " + hex(reg_[3]) + " (" + prov_name(prov_[3]) +
                        ") is neither stack nor NULL");
    return static_cast<size_t>(target);
  }

  // bpf_for_each_map_elem(map, callback, ctx, flags) over the ARRAY map, as
  // the kernel's bpf_for_each_array_elem: every element in index order.
  size_t start_for_each(size_t pc) {
    if (reg_[1] != kMapPtr || prov_kind(prov_[1]) != kProvMap)
      violation(pc, "for_each map argument r1 = " + hex(reg_[1]) + " (" + prov_name(prov_[1]) + ") is not the map");
    if (unpriv_ && prov_[4] != kProvNone) violation(pc, "bpf_for_each_map_elem's flags leak a pointer");
    const size_t target = callback_target(pc, "bpf_for_each_map_elem");
    if (reg_[4] != 0) {
      reg_[0] = static_cast<uint64_t>(-EINVAL);
      prov_[0] = kProvNone;
      for (int r = 1; r <= 5; r++) poison(r);
      return pc + 1;
    }
    Frame walk{pc + 1, {reg_[6], reg_[7], reg_[8], reg_[9]}, {prov_[6], prov_[7], prov_[8], prov_[9]}, 0};
    walk.loop = walk.for_each = true;
    walk.callback_pc = target;
    walk.loop_ctx = reg_[3];
    walk.loop_ctx_prov = prov_[3];
    walk.count = cfg_.max_entries; // 1..4: never empty
    return enter_callback(pc, walk);
  }

  // bpf_loop(nr_loops, callback, ctx, flags) as the kernel runs it; the
  // arguments are what the verifier promised: a subprogram, the stack or NULL.
  size_t start_loop(size_t pc) {
    if (unpriv_ && (prov_[1] != kProvNone || prov_[4] != kProvNone))
      violation(pc, "bpf_loop's count or flags leak a pointer");
    const size_t target = callback_target(pc, "bpf_loop");
    const uint32_t count = static_cast<uint32_t>(reg_[1]);
    uint64_t ret = 0;
    if (reg_[4] != 0) ret = static_cast<uint64_t>(-EINVAL);
    else if (count > (1u << 23)) ret = static_cast<uint64_t>(-E2BIG);
    if (reg_[4] != 0 || count == 0 || count > (1u << 23)) {
      reg_[0] = ret;
      prov_[0] = kProvNone;
      for (int r = 1; r <= 5; r++) poison(r);
      return pc + 1;
    }
    Frame loop{pc + 1, {reg_[6], reg_[7], reg_[8], reg_[9]}, {prov_[6], prov_[7], prov_[8], prov_[9]}, 0};
    loop.loop = true;
    loop.callback_pc = target;
    loop.loop_ctx = reg_[3];
    loop.loop_ctx_prov = prov_[3];
    loop.count = count;
    return enter_callback(pc, loop);
  }

  void call_helper(size_t pc, int32_t id) {
    uint64_t ret = 0;
    uint32_t ret_prov = kProvNone;
    auto check_map = [&] {
      if (reg_[1] != kMapPtr || prov_kind(prov_[1]) != kProvMap)
        violation(pc, "helper map argument r1 = " + hex(reg_[1]) + " (" + prov_name(prov_[1]) + ") is not the map");
    };
    auto check_scalar_arg = [&](int r) {
      if (unpriv_ && prov_[r] != kProvNone) violation(pc, "r" + std::to_string(r) + " leaks a pointer into a helper");
    };
    auto key_of = [&] {
      Mem m = helper_read(pc, 2, 4, "helper key read");
      uint32_t key;
      memcpy(&key, m.bytes, 4);
      return key;
    };
    switch (id) {
    case BPF_FUNC_map_lookup_elem: {
      check_map();
      const uint32_t key = key_of();
      if (key < cfg_.max_entries) {
        ret = kValueBase + key * kValueStride;
        ret_prov = kProvValue | key;
      }
      break;
    }
    case BPF_FUNC_map_update_elem: {
      check_map();
      const uint32_t key = key_of();
      Mem value = helper_read(pc, 3, cfg_.value_size, "helper value read");
      check_scalar_arg(4);
      const uint64_t flags = reg_[4];
      if (flags > BPF_EXIST) {
        ret = static_cast<uint64_t>(-EINVAL);
      } else if (key >= cfg_.max_entries) {
        ret = static_cast<uint64_t>(-E2BIG);
      } else if (flags == BPF_NOEXIST) {
        ret = static_cast<uint64_t>(-EEXIST);
      } else {
        const size_t at = static_cast<size_t>(key) * cfg_.value_size;
        memmove(values_.data() + at, value.bytes, cfg_.value_size);
        memmove(values_prov_.data() + at, value.prov, cfg_.value_size * sizeof(uint32_t));
      }
      break;
    }
    case BPF_FUNC_map_delete_elem:
      check_map();
      (void)key_of();
      ret = static_cast<uint64_t>(-EINVAL);
      break;
    case BPF_FUNC_ktime_get_ns:
    case BPF_FUNC_ktime_get_coarse_ns:
    case BPF_FUNC_ktime_get_boot_ns:
    case BPF_FUNC_ktime_get_tai_ns: ret = 1000000000ull + 1000 * ++calls_; break;
    case BPF_FUNC_get_prandom_u32: ret = next_random(); break;
    case BPF_FUNC_get_smp_processor_id:
    case BPF_FUNC_get_numa_node_id: ret = 0; break;
    case BPF_FUNC_get_current_pid_tgid: ret = 0x0000100000001001ull; break;
    case BPF_FUNC_get_current_uid_gid: ret = 0x000003e8000003e8ull; break;
    case BPF_FUNC_get_current_comm: // (buf, size): TASK_COMM_LEN bytes at most, the rest zeroed
      if (unpriv_) violation(pc, "get_current_comm accepted without CAP_PERFMON");
      helper_write(pc, 1, reg_[2], "get_current_comm buffer write");
      break;
    case BPF_FUNC_skb_load_bytes:          // (skb, offset, to, len)
    case BPF_FUNC_skb_load_bytes_relative: // (skb, offset, to, len, start_header)
      if (!cfg_.skb) violation(pc, "skb_load_bytes accepted for a program type without a socket buffer");
      if (reg_[1] != kCtxBase || prov_kind(prov_[1]) != kProvCtx)
        violation(pc, "skb_load_bytes with r1 = " + prov_name(prov_[1]) + ", not the socket buffer itself");
      check_scalar_arg(2);
      helper_write(pc, 3, reg_[4], "skb_load_bytes buffer write");
      if (id == BPF_FUNC_skb_load_bytes_relative) check_scalar_arg(5);
      ret = static_cast<uint64_t>(-EFAULT); // this type's test skb has no packet to copy from
      break;
    case BPF_FUNC_trace_printk:
      if (unpriv_) violation(pc, "trace_printk accepted without CAP_PERFMON");
      if (reg_[2] == 0) violation(pc, "trace_printk with a zero size accepted");
      (void)helper_read(pc, 1, reg_[2], "trace_printk fmt read");
      ret = 0;
      break;
    default:
      violation(pc, "helper #" + std::to_string(id) + " is not one the " +
                        (cfg_.skb ? "socket filter" : "memory program type") + " may call");
    }
    reg_[0] = ret;
    prov_[0] = ret_prov;
    for (int r = 1; r <= 5; r++) poison(r);
  }

  static uint64_t alu(uint8_t opcode, int16_t off, uint64_t a, uint64_t b, bool is32) {
    if (is32) {
      const uint32_t x = static_cast<uint32_t>(a), y = static_cast<uint32_t>(b);
      const int32_t sx = static_cast<int32_t>(x), sy = static_cast<int32_t>(y);
      uint32_t r = 0;
      switch (opcode & 0xf0) {
      case 0x00: r = x + y; break;
      case 0x10: r = x - y; break;
      case 0x20: r = x * y; break;
      case 0x30:
        if (off == 0) r = y ? x / y : 0;
        else r = sy == 0 ? 0 : sy == -1 ? 0u - x : static_cast<uint32_t>(sx / sy);
        break;
      case 0x40: r = x | y; break;
      case 0x50: r = x & y; break;
      case 0x60: r = x << (y & 31); break;
      case 0x70: r = x >> (y & 31); break;
      case 0x80: r = 0u - x; break;
      case 0x90:
        if (off == 0) r = y ? x % y : x;
        else r = sy == 0 ? x : sy == -1 ? 0 : static_cast<uint32_t>(sx % sy);
        break;
      case 0xa0: r = x ^ y; break;
      case 0xb0:
        r = off == 8 ? static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(y)))
            : off == 16 ? static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(y)))
                        : y;
        break;
      case 0xc0: r = static_cast<uint32_t>(sx >> (y & 31)); break;
      default: abort();
      }
      return r;
    }
    const int64_t sa = static_cast<int64_t>(a), sb = static_cast<int64_t>(b);
    switch (opcode & 0xf0) {
    case 0x00: return a + b;
    case 0x10: return a - b;
    case 0x20: return a * b;
    case 0x30:
      if (off == 0) return b ? a / b : 0;
      return sb == 0 ? 0 : sb == -1 ? 0 - a : static_cast<uint64_t>(sa / sb);
    case 0x40: return a | b;
    case 0x50: return a & b;
    case 0x60: return a << (b & 63);
    case 0x70: return a >> (b & 63);
    case 0x80: return 0 - a;
    case 0x90:
      if (off == 0) return b ? a % b : a;
      return sb == 0 ? a : sb == -1 ? 0 : static_cast<uint64_t>(sa % sb);
    case 0xa0: return a ^ b;
    case 0xb0:
      switch (off) {
      case 8: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(b)));
      case 16: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(b)));
      case 32: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(b)));
      default: return b;
      }
    case 0xc0: return static_cast<uint64_t>(sa >> (b & 63));
    default: abort();
    }
  }

  // Provenance of an ALU result: pointer +/- scalar (and scalar + pointer,
  // 64-bit only) and a 64-bit copy keep the pointer; anything else computed
  // from a pointer is derived.
  static uint32_t alu_prov(uint8_t opcode, int16_t off, bool is32, uint32_t d, uint32_t s) {
    const uint8_t op = opcode & 0xf0;
    if (op == 0xb0) return s == kProvNone ? kProvNone : (!is32 && off == 0 ? s : kProvDerived);
    if (d == kProvNone && s == kProvNone) return kProvNone;
    if (!is32 && op == 0x00) {
      if (prov_is_pointer(d) && s == kProvNone) return d;
      if (d == kProvNone && prov_is_pointer(s)) return s;
    }
    if (!is32 && op == 0x10 && prov_is_pointer(d) && s == kProvNone) return d;
    return kProvDerived;
  }

  static bool cond(uint8_t opcode, uint64_t a, uint64_t b, bool is32) {
    if (is32) {
      a = static_cast<uint32_t>(a);
      b = static_cast<uint32_t>(b);
    }
    const int64_t sa = is32 ? static_cast<int32_t>(a) : static_cast<int64_t>(a);
    const int64_t sb = is32 ? static_cast<int32_t>(b) : static_cast<int64_t>(b);
    switch (opcode & 0xf0) {
    case 0x10: return a == b;
    case 0x20: return a > b;
    case 0x30: return a >= b;
    case 0x40: return (a & b) != 0;
    case 0x50: return a != b;
    case 0x60: return sa > sb;
    case 0x70: return sa >= sb;
    case 0xa0: return a < b;
    case 0xb0: return a <= b;
    case 0xc0: return sa < sb;
    case 0xd0: return sa <= sb;
    default: abort();
    }
  }

  void record(size_t pc) {
    // The last instructions run, for the report.
    Recent &r = recent_[recent_n_++ % kRecent];
    r.pc = pc;
    memcpy(r.regs, reg_, sizeof reg_);
  }
  std::string format_recent() const {
    std::string t;
    for (size_t i = recent_n_ > kRecent ? recent_n_ - kRecent : 0; i < recent_n_; i++) {
      const Recent &r = recent_[i % kRecent];
      char line[400];
      int n = snprintf(line, sizeof line, "  %4zu:", r.pc);
      for (int k = 0; k < vm::kNumRegs && n > 0 && static_cast<size_t>(n) < sizeof line; k++)
        n += snprintf(line + n, sizeof line - static_cast<size_t>(n), " r%d=%" PRIx64, k, r.regs[k]);
      t += line;
      t += "\n";
    }
    return t;
  }

  void execute() {
    for (int r = 0; r < vm::kNumRegs; r++) poison(r);
    frame_instance_[0] = next_instance_++;
    reg_[1] = kCtxBase;
    prov_[1] = kProvCtx;
    reg_[2] = cfg_.mem_size;
    reg_[10] = kStackTop;
    prov_[10] = kProvStack | frame_instance_[0];
    const std::vector<vm::Insn> &code = prog_.insns;
    size_t pc = 0;
    uint64_t executed = 0;
    try {
      for (;;) {
        if (pc >= code.size()) violation(pc, "ran off the end of the program");
        if (++executed > kBudget) return;
        record(pc);
        step(code, pc);
      }
    } catch (const Finish &) {
    } catch (Violation &) {
      trace_ = "last instructions run (registers before each):\n" + format_recent();
      throw;
    }
  }

  void step(const std::vector<vm::Insn> &code, size_t &pc) {
    const vm::Insn &in = code[pc];
    if (in.ld_imm64_tail) violation(pc, "executed the second half of an ld_imm64");
    const uint8_t opc = in.opcode;
    const int d = in.dst, s = in.src;
    const bool is32 = vm::is_alu32(opc) || vm::is_jmp32(opc);
    const uint64_t off = static_cast<uint64_t>(static_cast<int64_t>(in.off));
    switch (in.info().shape) {
    case Shape::kAluImm:
    case Shape::kAluReg: {
      const bool x = in.info().shape == Shape::kAluReg;
      const uint64_t b = x ? reg_[s] : static_cast<uint64_t>(static_cast<int64_t>(in.imm));
      const uint32_t p = alu_prov(opc, in.off, is32, prov_[d], x ? prov_[s] : kProvNone);
      reg_[d] = alu(opc, in.off, reg_[d], b, is32);
      prov_[d] = p;
      pc++;
      return;
    }
    case Shape::kNeg:
      reg_[d] = alu(opc, 0, reg_[d], 0, is32);
      if (prov_[d] != kProvNone) prov_[d] = kProvDerived;
      pc++;
      return;
    case Shape::kEndian: {
      uint64_t v = reg_[d];
      const bool swap = opc == 0xd7 || opc == 0xdc; // bswap, be (the host is little-endian)
      switch (in.imm) {
      case 16: v = swap ? __builtin_bswap16(static_cast<uint16_t>(v)) : static_cast<uint16_t>(v); break;
      case 32: v = swap ? __builtin_bswap32(static_cast<uint32_t>(v)) : static_cast<uint32_t>(v); break;
      default: v = swap ? __builtin_bswap64(v) : v; break;
      }
      reg_[d] = v;
      if (prov_[d] != kProvNone) prov_[d] = kProvDerived;
      pc++;
      return;
    }
    case Shape::kLdImm64: {
      const uint8_t pseudo = raw_[pc].src;
      if (in.pseudo == vm::Pseudo::kFunc) {
        reg_[d] = kFuncBase + static_cast<uint64_t>(in.jump_target(pc));
        prov_[d] = kProvFunc;
      } else if (in.pseudo != vm::Pseudo::kNone) {
        violation(pc, "ld_imm64 left unresolved by an accepted program");
      } else {
        reg_[d] = in.imm64;
        const bool value = pseudo == static_cast<uint8_t>(vm::Pseudo::kMapValue) ||
                           pseudo == static_cast<uint8_t>(vm::Pseudo::kMapIdxValue);
        prov_[d] = pseudo == 0 ? kProvNone : value ? (kProvValue | 0u) : kProvMap;
      }
      pc += 2;
      return;
    }
    case Shape::kLoad: {
      const int size = vm::access_size(opc);
      uint32_t p = kProvNone;
      uint64_t v = load(pc, reg_[s] + off, size, prov_[s], &p);
      if ((opc & 0xe0) == vm::kModeMemSx) {
        switch (size) {
        case 1: v = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(v))); break;
        case 2: v = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(v))); break;
        case 4: v = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v))); break;
        default: break;
        }
      }
      reg_[d] = v;
      prov_[d] = p;
      pc++;
      return;
    }
    case Shape::kStoreImm:
      store(pc, reg_[d] + off, vm::access_size(opc), prov_[d], static_cast<uint64_t>(static_cast<int64_t>(in.imm)),
            kProvNone);
      pc++;
      return;
    case Shape::kStoreReg:
      store(pc, reg_[d] + off, vm::access_size(opc), prov_[d], reg_[s], prov_[s]);
      pc++;
      return;
    case Shape::kAtomic: {
      const int size = vm::access_size(opc);
      const uint64_t addr = reg_[d] + off;
      uint32_t old_p = kProvNone;
      const uint64_t mask = size == 4 ? 0xffffffffull : ~0ull;
      const uint64_t old = load(pc, addr, size, prov_[d], &old_p) & mask;
      const int32_t base = in.imm & ~vm::kAtomicFetch;
      const bool fetch = (in.imm & vm::kAtomicFetch) != 0;
      const uint64_t src = reg_[s] & mask;
      const uint32_t src_p = size == 8 ? prov_[s] : (prov_[s] != kProvNone ? kProvDerived : kProvNone);
      uint64_t nv = 0;
      uint32_t np = old_p != kProvNone || src_p != kProvNone ? kProvDerived : kProvNone;
      switch (base) {
      case 0x00: nv = old + src; break;
      case 0x40: nv = old | src; break;
      case 0x50: nv = old & src; break;
      case 0xa0: nv = old ^ src; break;
      case 0xe0:
        nv = src;
        np = src_p;
        break;
      case 0xf0: {
        const bool hit = old == (reg_[0] & mask);
        nv = hit ? src : old;
        np = hit ? src_p : old_p;
        break;
      }
      default: violation(pc, "unknown atomic op");
      }
      store(pc, addr, size, prov_[d], nv & mask, np);
      if (base == 0xf0) {
        reg_[0] = old;
        prov_[0] = old_p;
      } else if (fetch) {
        reg_[s] = old;
        prov_[s] = old_p;
      }
      pc++;
      return;
    }
    case Shape::kJa:
    case Shape::kJa32: pc = static_cast<size_t>(in.jump_target(pc)); return;
    case Shape::kJumpImm:
    case Shape::kJumpReg: {
      const bool x = in.info().shape == Shape::kJumpReg;
      const uint64_t b = x ? reg_[s] : static_cast<uint64_t>(static_cast<int64_t>(in.imm));
      const bool src_tainted = x && prov_[s] != kProvNone;
      if (unpriv_ && (prov_[d] != kProvNone || src_tainted)) {
        // Only a null check of a pointer in dst is allowed: JEQ/JNE against 0.
        const bool eq = (opc & 0xf0) == 0x10 || (opc & 0xf0) == 0x50;
        if (src_tainted || !eq || b != 0) violation(pc, "pointer comparison without allow_ptr_leaks");
      }
      pc = cond(opc, reg_[d], b, is32) ? static_cast<size_t>(in.jump_target(pc)) : pc + 1;
      return;
    }
    case Shape::kCall:
      if (in.imm == BPF_FUNC_loop) {
        pc = start_loop(pc);
        return;
      }
      if (in.imm == BPF_FUNC_for_each_map_elem) {
        pc = start_for_each(pc);
        return;
      }
      call_helper(pc, in.imm);
      pc++;
      return;
    case Shape::kCallLocal:
      enter_frame(pc, Frame{pc + 1, {reg_[6], reg_[7], reg_[8], reg_[9]}, {prov_[6], prov_[7], prov_[8], prov_[9]}, 0});
      pc = static_cast<size_t>(in.jump_target(pc));
      return;
    case Shape::kCallReg: violation(pc, "callx accepted");
    case Shape::kLdAbs:
    case Shape::kLdInd: {
      if (!cfg_.skb) violation(pc, "LD_ABS/LD_IND accepted for a program type without a socket buffer");
      if (reg_[6] != kCtxBase || prov_kind(prov_[6]) != kProvCtx)
        violation(pc, "LD_ABS/LD_IND with r6 = " + prov_name(prov_[6]) + ", not the socket buffer itself");
      if (!vm::ld_packet_fields_ok(in)) violation(pc, "LD_ABS/LD_IND with a reserved field set accepted");
      for (int r = 1; r <= 5; r++) poison(r);
      const uint32_t roll = next_random();
      if ((roll & 3) != 0) {
        const int size = vm::access_size(opc);
        reg_[0] = size == 4 ? roll : roll & ((1u << (8 * size)) - 1);
        prov_[0] = kProvNone;
        pc++;
        return;
      }
      // Outside the packet: "r0 = 0; exit" from this function.
      reg_[0] = 0;
      prov_[0] = kProvNone;
      [[fallthrough]];
    }
    case Shape::kExit: {
      if (depth_ == 0) {
        if (unpriv_ && prov_[0] != kProvNone)
          violation(pc, "exit with " + prov_name(prov_[0]) + " in r0 without allow_ptr_leaks");
        throw Finish{};
      }
      Frame f = frames_.back();
      frames_.pop_back();
      depth_--;
      reg_[10] += vm::kStackSize;
      prov_[10] = kProvStack | frame_instance_[depth_];
      if (f.loop) {
        // The callback returned: 0 goes on, 1 stops, nothing else is allowed.
        if (prov_[0] != kProvNone || reg_[0] > 1)
          violation(pc, std::string(f.for_each ? "a bpf_for_each_map_elem" : "a bpf_loop") + " callback returned " +
                            hex(reg_[0]) + " (" + prov_name(prov_[0]) + "), not 0 or 1");
        const uint32_t done = f.index + 1;
        if (reg_[0] == 0 && done < f.count) {
          f.index = done;
          pc = enter_callback(pc, f);
          return;
        }
        reg_[0] = done;
      }
      for (int r = 1; r <= 5; r++) poison(r);
      for (int r = 6; r <= 9; r++) {
        reg_[r] = f.saved[r - 6];
        prov_[r] = f.saved_prov[r - 6];
      }
      pc = f.return_pc;
      return;
    }
    }
  }

  const Config &cfg_;
  const vm::DecodedProgram &prog_;
  const std::vector<RawInsn> &raw_;
  const bool unpriv_;
  uint64_t reg_[vm::kNumRegs] = {};
  uint32_t prov_[vm::kNumRegs] = {};
  std::vector<Frame> frames_;
  int depth_ = 0;
  uint32_t frame_instance_[vm::kMaxCallFrames] = {};
  uint32_t next_instance_ = 1;
  std::vector<uint8_t> stack_, ctx_, values_;
  std::vector<uint32_t> stack_prov_, ctx_prov_, values_prov_;
  uint8_t keys_[4 * vm::kMaxCallFrames] = {};     // for_each keys, one per call depth
  uint32_t keys_prov_[4 * vm::kMaxCallFrames] = {};
  uint32_t rng_ = 1;
  uint64_t calls_ = 0;
  static constexpr size_t kRecent = 24;
  struct Recent {
    size_t pc;
    uint64_t regs[vm::kNumRegs];
  };
  Recent recent_[kRecent] = {};
  size_t recent_n_ = 0;
  std::string trace_;
};

std::string describe_config(const Config &cfg) {
  static const char *const privs[] = {"privileged", "privileged", "CAP_BPF only (no CAP_PERFMON)", "no capabilities"};
  char b[256];
  snprintf(b, sizeof b,
           "%s mode, %s%s, %s %u, map: ARRAY fd %d key 4 value %u max_entries %u, seed %u, global mask %#x%s",
           cfg.raw ? "raw" : "template", privs[cfg.priv_mode], cfg.strict_align ? ", strict alignment" : "",
           cfg.skb ? "socket filter, __sk_buff" : "ctx_mem_size",
           cfg.mem_size, kMapFd, cfg.value_size, cfg.max_entries, cfg.seed, cfg.globals, cfg.btf ? " (BTF)" : "");
  return b;
}

[[noreturn]] void report(const Config &cfg, const std::vector<RawInsn> &insns, const std::string &what,
                         const vm::DecodedProgram *prog, const std::string &trace) {
  fprintf(stderr, "\n==== verifier soundness violation: %s\n", what.c_str());
  fprintf(stderr, "options: %s\n", describe_config(cfg).c_str());
  vm::DecodedProgram decoded;
  std::string error;
  if (prog)
    fprintf(stderr, "accepted program (maps resolved):\n%s", vm::disassemble(*prog).c_str());
  else if (vm::decode(insns.data(), insns.size(), &decoded, &error) == 0)
    fprintf(stderr, "program:\n%s", vm::disassemble(decoded).c_str());
  fprintf(stderr, "%s", trace.c_str());
  verifier::Result again = verifier::verify(insns.data(), insns.size(), make_options(cfg, 2), make_resolver(cfg));
  std::string log = again.log;
  if (log.size() > 200000) log = "...\n" + log.substr(log.size() - 200000);
  fprintf(stderr, "verifier log (level 2, err %d):\n%s\n", again.err, log.c_str());
  abort();
}

// The checker must catch what it is there to catch: hand-written programs
// (never verified) with one violation each, and clean ones that must pass.
// Every helper the verifier lets the fuzzed program types call must have
// its emulation in Checker::call_helper (or start_loop, start_for_each): a new helper the
// checker does not know would make its first accepted call a false alarm.
constexpr int32_t kEmulatedHelpers[] = {
    BPF_FUNC_map_lookup_elem, BPF_FUNC_map_update_elem, BPF_FUNC_map_delete_elem, BPF_FUNC_ktime_get_ns,
    BPF_FUNC_ktime_get_coarse_ns,
    BPF_FUNC_ktime_get_boot_ns, BPF_FUNC_ktime_get_tai_ns, BPF_FUNC_get_prandom_u32, BPF_FUNC_get_smp_processor_id,
    BPF_FUNC_get_numa_node_id, BPF_FUNC_get_current_pid_tgid, BPF_FUNC_get_current_uid_gid,
    BPF_FUNC_get_current_comm, BPF_FUNC_skb_load_bytes, BPF_FUNC_skb_load_bytes_relative, BPF_FUNC_trace_printk,
    BPF_FUNC_loop, BPF_FUNC_for_each_map_elem,
};
// Allowed for these types, but only with a map of another type than the
// fuzzer's one ARRAY: the verifier must refuse each call, and call_helper
// reports one that runs as a verifier bug.
constexpr int32_t kNeedAnotherMapType[] = {
    BPF_FUNC_tail_call,                                                // a PROG_ARRAY
    BPF_FUNC_map_push_elem, BPF_FUNC_map_pop_elem, BPF_FUNC_map_peek_elem, // a QUEUE or a STACK
    BPF_FUNC_map_lookup_percpu_elem,                                       // a per-CPU map
    BPF_FUNC_strncmp, // its string in a frozen BPF_F_RDONLY_PROG array
};

void check_helper_emulation() {
  for (const helpers::HelperProto *h = helpers::helpers_begin(); h != helpers::helpers_end(); ++h)
    for (uint32_t type : {verifier::kProgTypeMemory, uint32_t{BPF_PROG_TYPE_SOCKET_FILTER}}) {
      if (!verifier::helper_allowed(type, *h, verifier::Privilege::privileged())) continue;
      bool emulated = false;
      for (int32_t id : kEmulatedHelpers) emulated |= id == h->id;
      for (int32_t id : kNeedAnotherMapType) emulated |= id == h->id;
      if (!emulated) {
        fprintf(stderr, "fuzz_verifier self test: helper %s#%d is allowed for program type %#x but the checker "
                        "does not emulate it (Checker::call_helper)\n",
                std::string(h->name).c_str(), h->id, type);
        abort();
      }
    }
}

void self_test() {
  check_helper_emulation();
  auto I = [](uint8_t code, int dst, int src, int16_t off, int32_t imm) {
    RawInsn r{};
    r.code = code;
    r.dst = static_cast<uint8_t>(dst);
    r.src = static_cast<uint8_t>(src);
    r.off = off;
    r.imm = imm;
    return r;
  };
  const RawInsn exit_ = I(0x95, 0, 0, 0, 0), ret0 = I(0xb7, 0, 0, 0, 0);
  const RawInsn map_lo = I(0x18, 1, 1, 0, kMapFd), map_hi = I(0, 0, 0, 0, 0);
  const RawInsn key0[] = {I(0x62, 10, 0, -4, 0), I(0xbf, 2, 10, 0, 0), I(0x07, 2, 0, 0, -4)};
  // bpf_loop(3, callback, fp-8, 0) with the callback's body after the main program's exit.
  auto loop_with = [&](std::vector<RawInsn> callback) {
    std::vector<RawInsn> p = {I(0x7a, 10, 0, -8, 0), I(0xb7, 1, 0, 0, 3), I(0x18, 2, 4, 0, 6), I(0, 0, 0, 0, 0),
                              I(0xbf, 3, 10, 0, 0),   I(0x07, 3, 0, 0, -8), I(0xb7, 4, 0, 0, 0),
                              I(0x85, 0, 0, 0, BPF_FUNC_loop), exit_};
    p.insert(p.end(), callback.begin(), callback.end());
    return p;
  };
  // bpf_for_each_map_elem(map, callback, fp-8, 0), the callback after the main program's exit.
  auto for_each_with = [&](std::vector<RawInsn> callback) {
    std::vector<RawInsn> p = {I(0x7a, 10, 0, -8, 0), map_lo, map_hi, I(0x18, 2, 4, 0, 6), I(0, 0, 0, 0, 0),
                              I(0xbf, 3, 10, 0, 0),  I(0x07, 3, 0, 0, -8), I(0xb7, 4, 0, 0, 0),
                              I(0x85, 0, 0, 0, BPF_FUNC_for_each_map_elem), exit_};
    p.insert(p.end(), callback.begin(), callback.end());
    return p;
  };
  struct Case {
    const char *name;
    bool bad;
    int priv_mode;
    std::vector<RawInsn> code;
  };
  Config cfg;
  cfg.mem_size = 16;
  cfg.value_size = 8;
  cfg.max_entries = 2;
  const std::vector<Case> cases = {
      {"ctx read in bounds", false, 0, {I(0x61, 0, 1, 12, 0), exit_}},
      {"ctx read past the end", true, 0, {I(0x61, 0, 1, 13, 0), exit_}},
      {"ctx read before the start", true, 0, {I(0x71, 0, 1, -1, 0), exit_}},
      {"stack write above the frame", true, 0, {I(0x7a, 10, 0, 0, 1), ret0, exit_}},
      {"stack read below the frame", true, 0, {I(0x71, 0, 10, -513, 0), exit_}},
      {"stack access across two frames", true, 0,
       {I(0x85, 0, 1, 0, 1), exit_, I(0x79, 0, 10, 508, 0), exit_}},
      {"caller stack from a callee", false, 0,
       {I(0xbf, 1, 10, 0, 0), I(0x85, 0, 1, 0, 1), exit_, I(0x71, 0, 1, -1, 0), exit_}},
      {"callee stack after return", true, 0,
       {I(0x85, 0, 1, 0, 2), I(0x71, 0, 0, -1, 0), exit_, I(0xbf, 0, 10, 0, 0), exit_}},
      {"r1 after a helper call", true, 0, {I(0x85, 0, 0, 0, BPF_FUNC_ktime_get_ns), I(0x71, 0, 1, 0, 0), exit_}},
      {"map value in bounds", false, 0,
       {key0[0], key0[1], key0[2], map_lo, map_hi, I(0x85, 0, 0, 0, 1), I(0x15, 0, 0, 1, 0), I(0x79, 0, 0, 0, 0),
        exit_}},
      {"map value past the end", true, 0,
       {key0[0], key0[1], key0[2], map_lo, map_hi, I(0x85, 0, 0, 0, 1), I(0x15, 0, 0, 1, 0), I(0x79, 0, 0, 1, 0),
        exit_}},
      {"null map value", true, 0,
       {I(0x62, 10, 0, -4, 5), key0[1], key0[2], map_lo, map_hi, I(0x85, 0, 0, 0, 1), I(0x79, 0, 0, 0, 0), exit_}},
      {"map pointer dereference", true, 0, {map_lo, map_hi, I(0x79, 0, 1, 0, 0), exit_}},
      {"pointer in r0 unprivileged", true, 2, {I(0xbf, 0, 10, 0, 0), exit_}},
      {"pointer in r0 privileged", false, 0, {I(0xbf, 0, 10, 0, 0), exit_}},
      {"derived pointer in r0 unprivileged", true, 2, {I(0xbf, 0, 1, 0, 0), I(0x57, 0, 0, 0, 0xff), exit_}},
      {"pointer stored to ctx unprivileged", true, 2, {I(0x7b, 1, 10, 0, 0), ret0, exit_}},
      {"pointer spilled and filled unprivileged", true, 2,
       {I(0x7b, 10, 1, -8, 0), I(0x79, 0, 10, -8, 0), exit_}},
      {"pointer compared unprivileged", true, 2, {I(0x25, 1, 0, 0, 5), ret0, exit_}},
      {"pointer null check unprivileged", false, 2, {I(0x15, 1, 0, 0, 0), ret0, exit_}},
      {"helper outside the program type", true, 0, {I(0x85, 0, 0, 0, 28), exit_}},
      {"callee writes into its caller's frame through its own r10", true, 0,
       {I(0x85, 0, 1, 0, 1), exit_, I(0x7a, 10, 0, 8, 0), ret0, exit_}},
      {"a returned frame's pointer used in the next call's frame", true, 0,
       {I(0x85, 0, 1, 0, 3), I(0xbf, 1, 0, 0, 0), I(0x85, 0, 1, 0, 3), exit_, I(0xbf, 0, 10, 0, 0), exit_,
        I(0x71, 0, 1, -1, 0), exit_}},
      {"a constant equal to the ctx address", true, 0,
       {I(0x18, 2, 0, 0, static_cast<int32_t>(kCtxBase)), I(0, 0, 0, 0, static_cast<int32_t>(kCtxBase >> 32)),
        I(0x71, 0, 2, 0, 0), exit_}},
      {"LD_ABS in the memory program type", true, 0, {I(0xbf, 6, 1, 0, 0), I(0x30, 0, 0, 0, 0), exit_}},
      {"pointer += scalar, then back in bounds", false, 0,
       {I(0xbf, 2, 1, 0, 0), I(0x07, 2, 0, 0, 20), I(0x71, 0, 2, -5, 0), exit_}},
      {"bpf_loop callback writes its ctx", false, 0, loop_with({I(0x7a, 2, 0, 0, 1), ret0, exit_})},
      {"bpf_loop callback writes past its ctx", true, 0, loop_with({I(0x7a, 2, 0, 8, 1), ret0, exit_})},
      {"bpf_loop callback returns 2", true, 0, loop_with({I(0xb7, 0, 0, 0, 2), exit_})},
      {"for_each callback reads key and value", false, 0,
       for_each_with({I(0x61, 0, 2, 0, 0), I(0x79, 5, 3, 0, 0), ret0, exit_})},
      {"for_each callback writes its value", false, 0, for_each_with({I(0x7a, 3, 0, 0, 7), ret0, exit_})},
      {"for_each callback writes its key", true, 0, for_each_with({I(0x62, 2, 0, 0, 7), ret0, exit_})},
      {"for_each callback reads past its key", true, 0, for_each_with({I(0x61, 0, 2, 1, 0), ret0, exit_})},
      {"for_each callback reads past its value", true, 0, for_each_with({I(0x79, 0, 3, 1, 0), ret0, exit_})},
      {"for_each callback writes its ctx", false, 0, for_each_with({I(0x7a, 4, 0, 0, 1), ret0, exit_})},
      {"for_each callback returns 2", true, 0, for_each_with({I(0xb7, 0, 0, 0, 2), exit_})},
  };
  // Socket-filter mode: LD_ABS must find the context itself in r6.
  const std::vector<RawInsn> ld_abs_ok = {I(0xbf, 6, 1, 0, 0), I(0x30, 0, 0, 0, 12), exit_};
  const std::vector<RawInsn> ld_abs_moved = {I(0xbf, 6, 1, 0, 0), I(0x07, 6, 0, 0, 4), I(0x30, 0, 0, 0, 12), exit_};
  const std::vector<RawInsn> ld_abs_r1_after = {I(0xbf, 6, 1, 0, 0), I(0x30, 0, 0, 0, 12), I(0x71, 0, 1, 0, 0), exit_};
  // bpf_skb_load_bytes(skb, 0, buf, 8): into the stack, into the skb itself.
  const std::vector<RawInsn> load_bytes_to_stack = {I(0xb7, 2, 0, 0, 0), I(0xbf, 3, 10, 0, 0), I(0x07, 3, 0, 0, -8),
                                                    I(0xb7, 4, 0, 0, 8), I(0x85, 0, 0, 0, BPF_FUNC_skb_load_bytes),
                                                    I(0x79, 0, 10, -8, 0), exit_};
  const std::vector<RawInsn> load_bytes_to_skb = {I(0xb7, 2, 0, 0, 0), I(0xbf, 3, 1, 0, 0), I(0xb7, 4, 0, 0, 8),
                                                  I(0x85, 0, 0, 0, BPF_FUNC_skb_load_bytes), exit_};
  const std::vector<RawInsn> pid_tgid = {I(0x85, 0, 0, 0, BPF_FUNC_get_current_pid_tgid), exit_};
  const struct {
    const char *name;
    bool bad;
    const std::vector<RawInsn> &code;
  } skb_cases[] = {
      {"LD_ABS with the skb in r6", false, ld_abs_ok},
      {"LD_ABS with a moved skb in r6", true, ld_abs_moved},
      {"the ctx in r1 used after LD_ABS", true, ld_abs_r1_after},
      {"skb_load_bytes into the stack", false, load_bytes_to_stack},
      {"skb_load_bytes into the skb", true, load_bytes_to_skb},
      {"get_current_pid_tgid from a socket filter", false, pid_tgid},
  };
  for (const auto &c : skb_cases) {
    Config k = cfg;
    k.skb = true;
    k.mem_size = sizeof(struct __sk_buff);
    vm::DecodedProgram prog;
    std::string error;
    if (vm::decode(c.code.data(), c.code.size(), &prog, &error) != 0) abort();
    bool flagged = false;
    for (int variant = 0; variant < 4 && !flagged; variant++) { // the load ends the run 1 time in 4
      Checker checker(k, prog, c.code, variant);
      Violation v;
      flagged = !checker.run(&v);
    }
    if (flagged != c.bad) {
      fprintf(stderr, "fuzz_verifier self test '%s': the checker %s\n", c.name,
              flagged ? "flagged a clean program" : "missed the violation");
      abort();
    }
  }
  for (const Case &c : cases) {
    Config k = cfg;
    k.priv_mode = c.priv_mode;
    vm::DecodedProgram prog;
    std::string error;
    if (vm::decode(c.code.data(), c.code.size(), &prog, &error) != 0) {
      fprintf(stderr, "fuzz_verifier self test '%s': does not decode: %s\n", c.name, error.c_str());
      abort();
    }
    for (vm::Insn &in : prog.insns)
      if (!in.ld_imm64_tail && in.op == Op::LD_IMM64 && in.pseudo == vm::Pseudo::kMapFd) {
        in.imm64 = kMapPtr; // what the verifier writes
        in.pseudo = vm::Pseudo::kNone;
      }
    Checker checker(k, prog, c.code);
    Violation v;
    const bool ok = checker.run(&v);
    if (ok == c.bad) {
      fprintf(stderr, "fuzz_verifier self test '%s': the checker %s\n", c.name,
              ok ? "missed the violation" : ("flagged a clean program: " + v.what).c_str());
      abort();
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  self_test();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4) return 0;
  Config cfg;
  cfg.raw = data[0] & 1;
  cfg.priv_mode = (data[0] >> 1) & 3;
  cfg.strict_align = (data[0] >> 3) & 1;
  cfg.skb = data[1] >= 224;
  cfg.mem_size = cfg.skb ? static_cast<uint32_t>(sizeof(struct __sk_buff)) : 1u + data[1];
  cfg.value_size = 8u + data[2] % 57u;
  cfg.max_entries = 1u + data[3] % 4u;
  cfg.seed = (static_cast<uint32_t>(data[0] >> 4) << 6) | (data[3] >> 2);
  cfg.globals = (data[2] >> 6) | ((data[3] >> 6) << 2);

  std::vector<RawInsn> insns;
  if (cfg.raw) {
    insns.resize((size - 4) / 8);
    if (!insns.empty()) memcpy(insns.data(), data + 4, insns.size() * 8);
  } else {
    Reader in(data + 4, size - 4);
    insns = Generator(in, cfg).generate();
  }
  if (insns.empty()) return 0;
  describe_functions(&cfg, insns);

  const verifier::MapResolver resolver = make_resolver(cfg);
  verifier::Result res = verifier::verify(insns.data(), insns.size(), make_options(cfg, 0), resolver);
  // Determinism: the same verdict twice (not for programs near the
  // complexity limit, which take seconds each in this sanitized build).
  verifier::Result res2;
  if (res.verified_insns <= 200000)
    res2 = verifier::verify(insns.data(), insns.size(), make_options(cfg, 0), resolver);
  else
    res2 = res;
  if (res.err != res2.err || res.verified_insns != res2.verified_insns)
    report(cfg, insns,
           "verify() is not deterministic: err " + std::to_string(res.err) + " then " + std::to_string(res2.err) +
               ", verified_insns " + std::to_string(res.verified_insns) + " then " +
               std::to_string(res2.verified_insns),
           nullptr, "");
  if (res.err > 0) report(cfg, insns, "verify() returned a positive error " + std::to_string(res.err), nullptr, "");
  static const bool verbose = getenv("USERBPF_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    // Debugging seeds: the verdict, and with level 2 the reason.
    verifier::Result logged = verifier::verify(insns.data(), insns.size(), make_options(cfg, 1), resolver);
    size_t cut = logged.log.size() > 600 ? logged.log.size() - 600 : 0;
    size_t packet_loads = 0, loops = 0;
    for (const RawInsn &r : insns) {
      packet_loads += (r.code & 0xe7) == 0x20 || (r.code & 0xe7) == 0x40;
      loops += r.code == 0x85 && r.src == 0 && r.imm == BPF_FUNC_loop;
    }
    fprintf(stderr, "[%s] %zu insns (%zu LD_ABS/LD_IND, %zu bpf_loop calls), err %d\n%s\n", describe_config(cfg).c_str(),
            insns.size(), packet_loads, loops, res.err, logged.log.substr(cut).c_str());
  }
  // Inputs that run the verifier to hundreds of thousands of insns (loops it
  // cannot prune, up to its 1M limit: seconds each with the sanitizers) are
  // checked but kept out of the corpus (-1), or they take over the run.
  const int keep = res.verified_insns > 200000 ? -1 : 0;
  if (res.err != 0) return keep;
  if (res.program.insns.size() != insns.size())
    report(cfg, insns, "the accepted program has " + std::to_string(res.program.insns.size()) + " insns, not " +
                           std::to_string(insns.size()),
           nullptr, "");

  for (int variant = 0; variant < 4; variant++) {
    Checker checker(cfg, res.program, insns, variant);
    Violation v;
    if (!checker.run(&v))
      report(cfg, insns, v.what + " (run " + std::to_string(variant) + ")", &res.program, checker.trace());
  }
  return keep;
}
