#include "vm/jit_x86_64.h"

#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <functional>
#include <random>

#include "alloc/rcu.h"
#include "helpers/helpers.h"
#include "helpers/skb_load.h"
#include "maps/map.h"
#include "vm/interpreter.h"
#include "vm/x86_64_emitter.h"

namespace userbpf::vm {

using namespace x86;

bool jit_supported() {
#if defined(__x86_64__)
  return true;
#else
  return false;
#endif
}

namespace {

// BPF register -> x86 register (see the header).
constexpr Reg kRegMap[kNumRegs] = {RAX, RDI, RSI, RDX, RCX, R8, RBX, R13, R14, R15, RBP};
constexpr Reg kCtxReg = R12;   // JitRunContext *
constexpr Reg kBlindReg = R10; // immediates decoded at run time (blinding)
constexpr int kFrameBytes = kStackSize;
constexpr int kMaxDepth = kMaxCallFrames - 1; // frames above the main one
constexpr size_t kEntryOffset = 16;           // where the entry trampoline starts in the image
constexpr int32_t kGetSmpProcessorIdHelper = 8; // BPF_FUNC_get_smp_processor_id

constexpr int32_t kOffSavedRsp = offsetof(JitRunContext, saved_rsp);
constexpr int32_t kOffBadValue = offsetof(JitRunContext, bad_value);
constexpr int32_t kOffDepth = offsetof(JitRunContext, depth);
constexpr int32_t kOffErr = offsetof(JitRunContext, err);
constexpr int32_t kOffBadReg = offsetof(JitRunContext, bad_reg);

using JitEntry = uint64_t (*)(uint64_t r1, uint64_t r2, JitRunContext *ctx);

// callx with a helper id (the conformance suite's meaning): the helper's
// function, or 0.
extern "C" uint64_t userbpf_jit_helper_for_callx(uint64_t id) {
  const helpers::HelperProto *h = id <= INT32_MAX ? helpers::find_helper(static_cast<int32_t>(id)) : nullptr;
  return h ? reinterpret_cast<uintptr_t>(h->fn) : 0;
}

// The error message of an interpreted tail-call target that failed (see
// JitRunContext::interpreted_error), for JitImage::run to report.
thread_local std::string t_interpreted_tail_error;

// A tail call (helper 12) from JIT code: the native address to jump to, or 0
// to fall through. The resolver counts the call and keeps the target alive
// until the run ends (src/prog/tail_call.cpp); we run under RCU (Program::run).
extern "C" uint64_t userbpf_jit_tail_call(JitRunContext *ctx, uint64_t map, uint64_t index) {
  const Program *target = resolve_tail_call(map, index, &ctx->tail_call_count);
  if (!target) return 0;
  if (const JitImage *image = target->jit()) return image->entry(0);
  ctx->interpreted_target = target;
  return ctx->interpreted_tail_stub;
}

// The stub's call: the rest of the chain in the interpreter; its r0 is what
// the replaced function returns. An error stops the whole run, as in JIT code.
extern "C" uint64_t userbpf_jit_run_interpreted_tail(uint64_t r1, JitRunContext *ctx) {
  const Program &target = *static_cast<const Program *>(ctx->interpreted_target);
  RunResult result = run_tail_call_target_interpreted(target, r1, &ctx->tail_call_count);
  if (result.err) {
    ctx->err = result.err;
    ctx->interpreted_error = true;
    t_interpreted_tail_error = result.error;
  }
  return result.r0;
}

// n random 64-bit keys for constant blinding: from getrandom (which may
// return less than asked), else from std::random_device.
void fill_random(std::vector<uint64_t> *keys, size_t n) {
  keys->assign(n, 0);
  uint8_t *p = reinterpret_cast<uint8_t *>(keys->data());
  size_t want = n * sizeof(uint64_t), got = 0;
  while (got < want) {
    ssize_t r = getrandom(p + got, want - got, 0);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  if (got == want) return;
  std::random_device rd;
  for (uint64_t &k : *keys) k = static_cast<uint64_t>(rd()) << 32 | rd();
}

bool falls_through(const Insn &insn) {
  return insn.op != Op::EXIT && insn.op != Op::JA && insn.op != Op::GOTOL;
}

// One compilation: emits the whole image; called once per pass until the
// layout stops changing (jumps that fit shrink to their short forms).
class Compiler {
public:
  Compiler(const DecodedProgram &prog, const JitOptions &options) : prog_(prog), options_(options) {
    const size_t n = prog.insns.size();
    is_function_.assign(n, false);
    if (n) is_function_[0] = true;
    for (size_t pc = 0; pc < n; pc++) {
      const Insn &d = prog.insns[pc];
      if (d.ld_imm64_tail) continue;
      bool func_ref = d.op == Op::CALL_LOCAL || (d.op == Op::LD_IMM64 && d.pseudo == Pseudo::kFunc);
      if (!func_ref) continue;
      int64_t t = d.jump_target(pc);
      if (t >= 0 && static_cast<size_t>(t) < n) {
        is_function_[static_cast<size_t>(t)] = true;
        if (d.op == Op::LD_IMM64 && !address_taken_contains(static_cast<size_t>(t))) address_taken_.push_back(static_cast<size_t>(t));
      }
    }
    // Where control can arrive from elsewhere: flags left by the instruction
    // before are not those of every path there.
    is_jump_target_.assign(n, false);
    for (size_t pc = 0; pc < n; pc++) {
      const Insn &d = prog.insns[pc];
      if (d.ld_imm64_tail) continue;
      const Shape shape = d.info().shape;
      if (shape != Shape::kJa && shape != Shape::kJa32 && shape != Shape::kJumpImm && shape != Shape::kJumpReg) continue;
      int64_t t = d.jump_target(pc);
      if (t >= 0 && static_cast<size_t>(t) < n) is_jump_target_[static_cast<size_t>(t)] = true;
    }
    insn_addr_.assign(n + 1, 0);
    insn_begin_.assign(n + 1, 0);
    func_addr_.assign(n, 0);
    if (options.blind_constants) fill_random(&keys_, n);
  }

  // Emit once with code based at `base`; returns false when the layout moved.
  bool pass(uint64_t base, bool near_helpers) {
    base_ = base;
    near_helpers_ = near_helpers;
    e_.clear();
    prev_insn_addr_ = insn_addr_;
    prev_func_addr_ = func_addr_;
    prev_cold_addr_ = std::move(cold_addr_);
    cold_addr_.clear();
    cold_.clear();
    cold_flushed_ = 0;
    bool stable = first_done_;
    emit_entry_and_stubs();
    const size_t n = prog_.insns.size();
    for (size_t pc = 0; pc < n; pc++) {
      const Insn &d = prog_.insns[pc];
      // The instruction before (an LD_IMM64 when pc - 1 is its second slot).
      const size_t before = pc > 0 && prog_.insns[pc - 1].ld_imm64_tail ? pc - 2 : pc - 1;
      if (is_function_[pc] && pc > 0) stable &= flush_cold(falls_through(prog_.insns[before]));
      stable &= set(insn_begin_[pc], e_.size());
      if (is_function_[pc]) {
        if (pc > 0 && falls_through(prog_.insns[before])) {
          // Falling into the next function's first instruction (unverified
          // code only) continues in the same frame, as the interpreter does.
          size_t at = e_.size();
          size_t to = at + 2 + kPrologueSize;
          e_.jmp(static_cast<int64_t>(at), static_cast<int64_t>(to), true);
        }
        stable &= set(func_addr_[pc], e_.size());
        emit_prologue();
      }
      stable &= set(insn_addr_[pc], e_.size());
      if (d.ld_imm64_tail) continue;
      cur_ = pc;
      flags_before_ = is_jump_target_[pc] || is_function_[pc] ? FlagsFrom{} : flags_;
      flags_ = {};
      emit_insn(d, pc);
    }
    stable &= flush_cold(false); // the last instruction never falls through (decoder)
    stable &= set(insn_begin_[n], e_.size());
    stable &= set(insn_addr_[n], e_.size());
    first_done_ = true;
    return stable;
  }

  // Long jumps only from now on: every size is then independent of the
  // addresses, so the layout is final after two passes (the way out when
  // shrinking takes more passes than allowed).
  void use_long_jumps() { allow_short_ = false; }

  std::vector<uint8_t> &bytes() { return e_.bytes(); }
  const std::vector<uint64_t> &insn_begin() const { return insn_begin_; }
  const std::vector<uint64_t> &func_addr() const { return func_addr_; }
  const std::vector<bool> &is_function() const { return is_function_; }
  size_t interpreted_tail_stub() const { return static_cast<size_t>(interpreted_tail_stub_); }
  // Every helper address the code calls (to place the code near them).
  std::vector<uint64_t> helper_targets() const {
    std::vector<uint64_t> out;
    out.push_back(reinterpret_cast<uintptr_t>(&userbpf_jit_helper_for_callx));
    out.push_back(reinterpret_cast<uintptr_t>(&userbpf_jit_tail_call));
    out.push_back(reinterpret_cast<uintptr_t>(&userbpf_jit_run_interpreted_tail));
    for (const Insn &d : prog_.insns)
      if (!d.ld_imm64_tail && d.op == Op::CALL)
        if (const helpers::HelperProto *h = helpers::find_helper(d.imm); h && h->fn)
          out.push_back(reinterpret_cast<uintptr_t>(helpers::helper_function(*h, options_.prog_type)));
    out.push_back(reinterpret_cast<uintptr_t>(&helpers::for_each_map_start));
    out.push_back(reinterpret_cast<uintptr_t>(&helpers::for_each_map_step));
    return out;
  }

private:
  static constexpr size_t kPrologueSize = 1 + 1 + 2 + 2 + 2 + 3 + 7; // pushes, mov rbp,rsp, sub rsp,imm32

  static bool set(uint64_t &slot, uint64_t value) {
    bool same = slot == value;
    slot = value;
    return same;
  }
  bool address_taken_contains(size_t t) const {
    for (size_t a : address_taken_) if (a == t) return true;
    return false;
  }
  int64_t here() const { return static_cast<int64_t>(e_.size()); }
  // Jumps between instructions are laid out from the previous pass's
  // addresses, both ends (as the kernel's JIT): then code only shrinks from
  // pass to pass, and once a pass reproduces its input every displacement is
  // exact. Before the first pass finishes every jump takes its long form.
  bool short_ok() const { return first_done_ && allow_short_; }
  int64_t from_prev() const {
    return static_cast<int64_t>(prev_insn_addr_[cur_]) + here() - static_cast<int64_t>(insn_addr_[cur_]);
  }
  int64_t target_addr(int64_t insn) const { return static_cast<int64_t>(prev_insn_addr_[static_cast<size_t>(insn)]); }

  // ---- out-of-line ("cold") code
  // A rarely taken path (a divisor of 0, operands beyond 32 bits, a thread
  // without an rseq area) is emitted after the function's last instruction,
  // so that the common path runs straight through without a taken branch:
  // jcc_cold() jumps there, the stub's body runs and jumps back to `resume`
  // (by default right after the jcc). The jcc is laid out from the previous
  // pass's stub address, as jumps between instructions are.
  struct ColdStub {
    std::function<void()> body;
    int64_t resume;
  };
  size_t jcc_cold(Cond cc, std::function<void()> body) {
    const size_t k = cold_.size();
    const int64_t target = k < prev_cold_addr_.size() ? static_cast<int64_t>(prev_cold_addr_[k]) : 0;
    e_.jcc(cc, from_prev(), target, short_ok());
    cold_.push_back({std::move(body), here()});
    return k;
  }
  // Emits the stubs queued since the last flush here (after a function's last
  // instruction), jumping over them first when the code before falls through.
  // Returns whether every stub is where the previous pass put it.
  bool flush_cold(bool jump_over) {
    if (cold_flushed_ == cold_.size()) return true;
    size_t over_end = 0;
    if (jump_over) {
      e_.byte(0xe9); // jmp rel32, patched below
      e_.imm32(0);
      over_end = e_.size();
    }
    bool stable = true;
    for (; cold_flushed_ < cold_.size(); cold_flushed_++) {
      const size_t k = cold_flushed_;
      stable &= k < prev_cold_addr_.size() && prev_cold_addr_[k] == e_.size();
      cold_addr_.push_back(e_.size());
      cold_[k].body();
      e_.jmp(here(), cold_[k].resume, true); // both ends in this pass: exact
    }
    if (over_end) patch_rel32(over_end, e_.size());
    return stable;
  }

  // ---- entry trampoline and shared error stubs
  void emit_entry_and_stubs() {
    // Padding first: a sanitizer checking indirect calls (clang's
    // -fsanitize=function) reads the bytes just before the called address.
    while (e_.size() < kEntryOffset) e_.int3();
    // entry(r1 = rdi, r2 = rsi, ctx = rdx)
    for (Reg r : {RBP, RBX, R12, R13, R14, R15}) e_.push(r);
    e_.mov_rr(true, kCtxReg, RDX);
    e_.store(8, kCtxReg, kOffSavedRsp, RSP);
    e_.alu_ri(AluOp::kSub, true, RSP, 8); // 16-byte alignment at the call
    for (Reg r : {RAX, RDX, RCX, R8, RBX, R13, R14, R15}) e_.zero(r);
    size_t call_at = e_.size();
    e_.call_rel32(static_cast<int64_t>(call_at), main_entry_);
    e_.alu_ri(AluOp::kAdd, true, RSP, 8);
    restore_at_ = here();
    for (Reg r : {R15, R14, R13, R12, RBX, RBP}) e_.pop(r);
    e_.ret();
    // Error exits: the site stored the error; unwind every BPF frame at once.
    too_deep_stub_ = here();
    e_.mov_mem32_imm(kCtxReg, kOffErr, -E2BIG);
    unwind_stub_ = here();
    e_.load(8, false, RSP, kCtxReg, kOffSavedRsp);
    e_.jmp(here(), restore_at_, true);
    bad_callx_stub_ = here();
    e_.mov_mem32_imm(kCtxReg, kOffErr, -EINVAL);
    e_.jmp(here(), unwind_stub_, true);
    // A tail call's target without native code: entered by jmp as a function
    // (return address on top), r1 = ctx; the interpreter runs the rest.
    interpreted_tail_stub_ = here();
    e_.alu_ri(AluOp::kSub, true, RSP, 8); // 16-byte alignment at the call
    e_.mov_rr(true, RSI, kCtxReg);
    call_absolute(reinterpret_cast<uintptr_t>(&userbpf_jit_run_interpreted_tail));
    e_.alu_ri(AluOp::kAdd, true, RSP, 8);
    e_.cmp_mem32_imm8(kCtxReg, kOffErr, 0);
    e_.jcc(kNotEqual, here(), unwind_stub_, true); // behind, at a fixed place
    e_.ret();
    while (e_.size() % 16) e_.int3(); // functions start aligned
    main_entry_ = static_cast<int64_t>(e_.size());
  }

  void emit_prologue() {
    for (Reg r : {RBP, RBX, R13, R14, R15}) e_.push(r);
    e_.mov_rr(true, RBP, RSP);
    e_.byte(0x48); // sub rsp, imm32 (fixed size: kPrologueSize)
    e_.byte(0x81);
    e_.byte(0xec);
    e_.imm32(kFrameBytes);
  }
  void emit_epilogue() {
    // rsp, not rbp: an unverified program may have written r10.
    e_.alu_ri(AluOp::kAdd, true, RSP, kFrameBytes);
    for (Reg r : {R15, R14, R13, RBX, RBP}) e_.pop(r);
    e_.ret();
  }

  // ---- immediates (blinded or not)
  bool blind(const Insn &d) const {
    if (!options_.blind_constants) return false;
    // The kernel leaves a move of zero alone (it becomes xor dst, dst).
    if ((d.op == Op::MOV64_IMM || d.op == Op::MOV32_IMM) && d.imm == 0) return false;
    return true;
  }
  // kBlindReg = imm (sign-extended to 64 bits, or zero-extended from 32 when
  // !w), built from imm ^ key and key so neither constant is the program's.
  Reg blinded_imm(bool w, int32_t imm) {
    int32_t key = static_cast<int32_t>(keys_[cur_]);
    e_.mov_ri(w, kBlindReg, imm ^ key);
    // mov_ri may pick the zero-extending form for a non-negative value, which
    // is also the sign extension then; xor with the sign-extended key after.
    e_.alu_ri(AluOp::kXor, w, kBlindReg, key);
    return kBlindReg;
  }

  void emit_insn(const Insn &d, size_t pc) {
    const Reg dst = kRegMap[d.dst];
    const Reg src = kRegMap[d.src];
    const bool w = !uses_w_regs(d.opcode); // 64-bit operation
    switch (d.op) {
#define USERBPF_JIT_ALU(N, X86OP)                                                                                    \
  case Op::N##64_IMM:                                                                                                \
  case Op::N##32_IMM:                                                                                                \
    if (blind(d)) e_.alu_rr(AluOp::X86OP, w, dst, blinded_imm(w, d.imm));                                            \
    else e_.alu_ri(AluOp::X86OP, w, dst, d.imm);                                                                     \
    flags_ = {true, d.dst, w};                                                                                       \
    break;                                                                                                           \
  case Op::N##64_REG:                                                                                                \
  case Op::N##32_REG:                                                                                                \
    e_.alu_rr(AluOp::X86OP, w, dst, src);                                                                            \
    flags_ = {true, d.dst, w};                                                                                       \
    break;
      USERBPF_JIT_ALU(ADD, kAdd)
      USERBPF_JIT_ALU(SUB, kSub)
      USERBPF_JIT_ALU(OR, kOr)
      USERBPF_JIT_ALU(AND, kAnd)
      USERBPF_JIT_ALU(XOR, kXor)
#undef USERBPF_JIT_ALU
    case Op::MOV64_IMM:
    case Op::MOV32_IMM:
      if (d.imm == 0) e_.zero(dst);
      else if (blind(d)) e_.mov_rr(true, dst, blinded_imm(w, d.imm));
      else e_.mov_ri(w, dst, d.imm);
      break;
    case Op::MOV64_REG:
      if (dst != src) e_.mov_rr(true, dst, src);
      break;
    case Op::MOV32_REG: e_.mov_rr(false, dst, src); break; // zero-extends, even onto itself
    case Op::MUL64_IMM:
    case Op::MUL32_IMM:
      if (blind(d)) e_.imul_rr(w, dst, blinded_imm(w, d.imm));
      else multiply_imm(w, dst, d.imm);
      break;
    case Op::MUL64_REG:
    case Op::MUL32_REG: e_.imul_rr(w, dst, src); break;

    case Op::LSH64_IMM:
    case Op::LSH32_IMM: shift_imm(d, ShiftOp::kShl, w, dst); break;
    case Op::RSH64_IMM:
    case Op::RSH32_IMM: shift_imm(d, ShiftOp::kShr, w, dst); break;
    case Op::ARSH64_IMM:
    case Op::ARSH32_IMM: shift_imm(d, ShiftOp::kSar, w, dst); break;
    case Op::LSH64_REG:
    case Op::LSH32_REG: shift_reg(ShiftOp::kShl, w, dst, src); break;
    case Op::RSH64_REG:
    case Op::RSH32_REG: shift_reg(ShiftOp::kShr, w, dst, src); break;
    case Op::ARSH64_REG:
    case Op::ARSH32_REG: shift_reg(ShiftOp::kSar, w, dst, src); break;

    case Op::DIV64_IMM:
    case Op::DIV32_IMM: divide_imm(d, pc, w, false, false, dst); break;
    case Op::MOD64_IMM:
    case Op::MOD32_IMM: divide_imm(d, pc, w, false, true, dst); break;
    case Op::SDIV64_IMM:
    case Op::SDIV32_IMM: divide_imm(d, pc, w, true, false, dst); break;
    case Op::SMOD64_IMM:
    case Op::SMOD32_IMM: divide_imm(d, pc, w, true, true, dst); break;
    case Op::DIV64_REG:
    case Op::DIV32_REG: divide(pc, w, false, false, dst, src, true); break;
    case Op::MOD64_REG:
    case Op::MOD32_REG: divide(pc, w, false, true, dst, src, true); break;
    case Op::SDIV64_REG:
    case Op::SDIV32_REG: divide(pc, w, true, false, dst, src, true); break;
    case Op::SMOD64_REG:
    case Op::SMOD32_REG: divide(pc, w, true, true, dst, src, true); break;

    case Op::NEG64:
    case Op::NEG32: e_.neg(w, dst); break;
    case Op::MOVSX8_64: e_.movsx8(true, dst, src); break;
    case Op::MOVSX16_64: e_.movsx16(true, dst, src); break;
    case Op::MOVSX32_64: e_.movsxd(dst, src); break;
    case Op::MOVSX8_32: e_.movsx8(false, dst, src); break;
    case Op::MOVSX16_32: e_.movsx16(false, dst, src); break;

    // The host is little-endian: le truncates, be and bswap swap.
    case Op::LE16: e_.movzx16(dst, dst); break;
    case Op::LE32: e_.mov_rr(false, dst, dst); break;
    case Op::LE64: break;
    case Op::BE16:
    case Op::BSWAP16:
      e_.ror16_by8(dst);
      e_.movzx16(dst, dst);
      break;
    case Op::BE32:
    case Op::BSWAP32: e_.bswap(false, dst); break;
    case Op::BE64:
    case Op::BSWAP64: e_.bswap(true, dst); break;

    case Op::LD_IMM64: load_imm64(d, pc, dst); break;

    case Op::LDXW: e_.load(4, false, dst, src, d.off); break;
    case Op::LDXH: e_.load(2, false, dst, src, d.off); break;
    case Op::LDXB: e_.load(1, false, dst, src, d.off); break;
    case Op::LDXDW: e_.load(8, false, dst, src, d.off); break;
    case Op::LDXSW: e_.load(4, true, dst, src, d.off); break;
    case Op::LDXSH: e_.load(2, true, dst, src, d.off); break;
    case Op::LDXSB: e_.load(1, true, dst, src, d.off); break;
    case Op::STW:
    case Op::STH:
    case Op::STB:
    case Op::STDW:
      if (blind(d)) e_.store(access_size(d.opcode), dst, d.off, blinded_imm(true, d.imm));
      else e_.store_imm(access_size(d.opcode), dst, d.off, d.imm);
      break;
    case Op::STXW:
    case Op::STXH:
    case Op::STXB:
    case Op::STXDW: e_.store(access_size(d.opcode), dst, d.off, src); break;

    case Op::ATOMIC_ADD64:
    case Op::ATOMIC_ADD32: e_.lock_alu_mr(AluOp::kAdd, w_atomic(d), dst, d.off, src); break;
    case Op::ATOMIC_OR64:
    case Op::ATOMIC_OR32: e_.lock_alu_mr(AluOp::kOr, w_atomic(d), dst, d.off, src); break;
    case Op::ATOMIC_AND64:
    case Op::ATOMIC_AND32: e_.lock_alu_mr(AluOp::kAnd, w_atomic(d), dst, d.off, src); break;
    case Op::ATOMIC_XOR64:
    case Op::ATOMIC_XOR32: e_.lock_alu_mr(AluOp::kXor, w_atomic(d), dst, d.off, src); break;
    case Op::ATOMIC_FETCH_ADD64:
    case Op::ATOMIC_FETCH_ADD32: e_.lock_xadd(w_atomic(d), dst, d.off, src); break;
    case Op::ATOMIC_FETCH_OR64:
    case Op::ATOMIC_FETCH_OR32: fetch_op_loop(AluOp::kOr, w_atomic(d), dst, d.off, src); break;
    case Op::ATOMIC_FETCH_AND64:
    case Op::ATOMIC_FETCH_AND32: fetch_op_loop(AluOp::kAnd, w_atomic(d), dst, d.off, src); break;
    case Op::ATOMIC_FETCH_XOR64:
    case Op::ATOMIC_FETCH_XOR32: fetch_op_loop(AluOp::kXor, w_atomic(d), dst, d.off, src); break;
    case Op::ATOMIC_XCHG64:
    case Op::ATOMIC_XCHG32: e_.xchg_mr(w_atomic(d), dst, d.off, src); break;
    case Op::ATOMIC_CMPXCHG64:
    case Op::ATOMIC_CMPXCHG32:
      e_.lock_cmpxchg(w_atomic(d), dst, d.off, src);
      // A 32-bit cmpxchg that succeeds leaves rax's upper half: r0 is the
      // zero-extended old value either way.
      if (!w_atomic(d)) e_.mov_rr(false, RAX, RAX);
      break;

    case Op::JA: e_.jmp(from_prev(), target_addr(d.jump_target(pc)), short_ok()); break;
    case Op::GOTOL: e_.jmp(from_prev(), target_addr(d.jump_target(pc)), short_ok()); break;
#define USERBPF_JIT_JUMP(N, COND)                                                                                    \
  case Op::N##_IMM:                                                                                                  \
  case Op::N##32_IMM: jump_imm(d, pc, w, dst, COND); break;                                                          \
  case Op::N##_REG:                                                                                                  \
  case Op::N##32_REG:                                                                                                \
    e_.alu_rr(AluOp::kCmp, w, dst, src);                                                                             \
    e_.jcc(COND, from_prev(), target_addr(d.jump_target(pc)), short_ok());                                                \
    break;
      USERBPF_JIT_JUMP(JEQ, kEqual)
      USERBPF_JIT_JUMP(JNE, kNotEqual)
      USERBPF_JIT_JUMP(JGT, kAbove)
      USERBPF_JIT_JUMP(JGE, kAboveEqual)
      USERBPF_JIT_JUMP(JLT, kBelow)
      USERBPF_JIT_JUMP(JLE, kBelowEqual)
      USERBPF_JIT_JUMP(JSGT, kGreater)
      USERBPF_JIT_JUMP(JSGE, kGreaterEqual)
      USERBPF_JIT_JUMP(JSLT, kLess)
      USERBPF_JIT_JUMP(JSLE, kLessEqual)
#undef USERBPF_JIT_JUMP
    case Op::JSET_IMM:
    case Op::JSET32_IMM:
      if (blind(d)) e_.test_rr(w, dst, blinded_imm(w, d.imm));
      else e_.test_ri(w, dst, d.imm);
      e_.jcc(kNotEqual, from_prev(), target_addr(d.jump_target(pc)), short_ok());
      break;
    case Op::JSET_REG:
    case Op::JSET32_REG:
      e_.test_rr(w, dst, src);
      e_.jcc(kNotEqual, from_prev(), target_addr(d.jump_target(pc)), short_ok());
      break;

    case Op::CALL:
      if (d.imm == kTailCallHelper) tail_call();
      else if (d.imm == helpers::kLoopHelper) loop_helper();
      else if (d.imm == helpers::kForEachMapElemHelper) for_each_helper();
      else call_helper(d);
      break;
    case Op::CALL_LOCAL: call_local_checked([&] {
        e_.call_rel32(from_prev(), static_cast<int64_t>(prev_func_addr_[static_cast<size_t>(d.jump_target(pc))]));
      });
      break;
    case Op::CALLX: callx(d, dst); break;
    case Op::EXIT: emit_epilogue(); break;

    case Op::LDABSW:
    case Op::LDABSH:
    case Op::LDABSB:
    case Op::LDINDW:
    case Op::LDINDH:
    case Op::LDINDB: ld_packet(d, src); break;
    }
  }

  // LD_ABS / LD_IND: r0 = skb_ld_abs(ctx = r6, offset, size), a C call as
  // the kernel's rewrite makes one (r1-r5 are clobbered, and the verifier
  // keeps them unreadable after it); a negative result returns 0 from the
  // current function at once (out of line).
  void ld_packet(const Insn &d, Reg src) {
    const Reg offset = kRegMap[2]; // rsi: the call's second argument
    if (d.info().shape == Shape::kLdInd) {
      // The 32-bit sum is the kernel's int offset (src + imm, truncated).
      if (src != offset) e_.mov_rr(false, offset, src);
      if (d.imm && blind(d)) e_.alu_rr(AluOp::kAdd, false, offset, blinded_imm(false, d.imm));
      else if (d.imm) e_.alu_ri(AluOp::kAdd, false, offset, d.imm);
    } else if (blind(d)) {
      e_.mov_rr(false, offset, blinded_imm(false, d.imm));
    } else {
      e_.mov_ri(false, offset, d.imm);
    }
    e_.mov_rr(true, kRegMap[1], kRegMap[6]); // rdi = the context
    e_.mov_ri(false, kRegMap[3], access_size(d.opcode)); // edx = size
    call_absolute(reinterpret_cast<uintptr_t>(&helpers::skb_ld_abs));
    e_.test_rr(true, RAX, RAX);
    jcc_cold(kLess, [this] {
      e_.zero(RAX);
      emit_epilogue();
    });
  }

  static bool w_atomic(const Insn &d) { return access_size(d.opcode) == 8; }

  // dst *= imm. imul takes 3 cycles; small constants of the forms 2^k,
  // 2^k + 1 and 2^k - 1 are one or two one-cycle instructions instead (shift,
  // lea, shift and add/sub), as compilers do. The 32-bit forms compute in
  // 32-bit registers, which zero-extends the result as BPF wants.
  void multiply_imm(bool w, Reg dst, int32_t imm) {
    const int64_t m = imm;
    auto log2_exact = [](int64_t v) { return v > 0 && (v & (v - 1)) == 0 ? __builtin_ctzll(static_cast<uint64_t>(v)) : -1; };
    if (m == 0) return e_.zero(dst);
    if (m == 1) {
      if (!w) e_.mov_rr(false, dst, dst);
      return;
    }
    if (int k = log2_exact(m); k > 0) return e_.shift_ri(ShiftOp::kShl, w, dst, static_cast<uint8_t>(k));
    if (m == 3 || m == 5 || m == 9) return e_.lea_scaled(w, dst, dst, dst, static_cast<int>(m - 1));
    if (int k = log2_exact(m - 1); k > 0) { // dst + (dst << k)
      e_.mov_rr(w, R11, dst);
      e_.shift_ri(ShiftOp::kShl, w, R11, static_cast<uint8_t>(k));
      e_.alu_rr(AluOp::kAdd, w, dst, R11);
      return;
    }
    if (int k = log2_exact(m + 1); k > 0) { // (dst << k) - dst
      e_.mov_rr(w, R11, dst);
      e_.shift_ri(ShiftOp::kShl, w, R11, static_cast<uint8_t>(k));
      e_.alu_rr(AluOp::kSub, w, R11, dst);
      e_.mov_rr(w, dst, R11);
      return;
    }
    e_.imul_rri(w, dst, dst, imm);
  }

  void shift_imm(const Insn &d, ShiftOp op, bool w, Reg dst) {
    if (blind(d)) return shift_reg(op, w, dst, blinded_imm(w, d.imm));
    // Counts are masked to the operand width, as the interpreter does.
    uint8_t count = static_cast<uint8_t>(d.imm & (w ? 63 : 31));
    if (count) e_.shift_ri(op, w, dst, count);
    else if (!w) e_.mov_rr(false, dst, dst);
  }
  // x86 shifts by cl (BPF r4): park rcx in r11 around the shift unless the
  // count already is there.
  void shift_reg(ShiftOp op, bool w, Reg dst, Reg count) {
    if (count == RCX) {
      e_.shift_cl(op, w, dst);
      return;
    }
    e_.mov_rr(true, R11, RCX);
    e_.mov_rr(true, RCX, count);
    if (dst == RCX) {
      e_.shift_cl(op, w, R11); // r4 itself is shifted: its value is in r11
      e_.mov_rr(true, RCX, R11);
      return;
    }
    e_.shift_cl(op, w, dst);
    e_.mov_rr(true, RCX, R11);
  }

  // dst = dst / divisor or dst % divisor. x86 divides rdx:rax: BPF r0 (rax)
  // and r3 (rdx) are parked in r10 and r9 around the divide only when dst is
  // not that register and the value is read afterwards (dead_after()); no
  // flags are saved. check_divisor: test for 0 (and -1 when signed) and give
  // the interpreter's results for them (x/0 = 0, x%0 = x, x/-1 = -x, x%-1 =
  // 0), out of line; otherwise the caller knows the divisor is neither.
  //
  // Unsigned 64-bit forms divide with the 32-bit `div` when both operands
  // are below 2^32 (one or + shift to check): the same quotient and
  // remainder, and on current CPUs a faster divide (as compilers do where the
  // 64-bit one is slow). The full 64-bit divide is out of line too, so the
  // common path has no taken branch.
  void divide(size_t pc, bool w, bool is_signed, bool modulo, Reg dst, Reg divisor, bool check_divisor) {
    Reg dv = divisor;
    if (dv == RAX || dv == RDX || dv == R9 || dv == R10) { // overwritten below
      e_.mov_rr(true, R11, dv);
      dv = R11;
    }
    std::vector<size_t> resume_at_end; // cold stubs that return after the whole division
    if (check_divisor) {
      e_.test_rr(w, dv, dv);
      resume_at_end.push_back(jcc_cold(kEqual, [this, w, modulo, dst] { divide_by_zero_result(w, modulo, dst); }));
      if (is_signed) {
        e_.alu_ri(AluOp::kCmp, w, dv, -1);
        resume_at_end.push_back(
            jcc_cold(kEqual, [this, w, modulo, dst] { divide_by_minus_one_result(w, modulo, dst); }));
      }
    }
    const bool keep_rax = dst != RAX && !dead_after(pc, 0);
    const bool keep_rdx = dst != RDX && !dead_after(pc, 3);
    if (keep_rax) e_.mov_rr(true, R10, RAX);
    if (keep_rdx) e_.mov_rr(true, R9, RDX);
    if (dst != RAX) e_.mov_rr(w, RAX, dst); // 32-bit forms read eax only
    size_t wide = SIZE_MAX;
    if (is_signed) {
      e_.sign_extend_rax_into_rdx(w);
      e_.idiv(w, dv);
    } else if (!w) {
      e_.zero(RDX);
      e_.div(false, dv);
    } else {
      // rdx = (rax | divisor) >> 32: zero (the high half of the dividend
      // for the 32-bit div) exactly when both fit in 32 bits.
      e_.mov_rr(true, RDX, RAX);
      e_.alu_rr(AluOp::kOr, true, RDX, dv);
      e_.shift_ri(ShiftOp::kShr, true, RDX, 32);
      wide = jcc_cold(kNotEqual, [this, dv] {
        e_.zero(RDX);
        e_.div(true, dv);
      });
      e_.div(false, dv); // zero-extends the quotient and the remainder
    }
    if (wide != SIZE_MAX) cold_[wide].resume = here(); // back to the result moves
    const Reg result = modulo ? RDX : RAX;
    if (dst != result) e_.mov_rr(true, dst, result);
    if (keep_rax) e_.mov_rr(true, RAX, R10);
    if (keep_rdx) e_.mov_rr(true, RDX, R9);
    for (size_t k : resume_at_end) cold_[k].resume = here();
  }
  // What the kernel's run-time fixups give for a divisor of zero and, signed, -1.
  void divide_by_zero_result(bool w, bool modulo, Reg dst) {
    if (!modulo) e_.zero(dst);
    else if (!w) e_.mov_rr(false, dst, dst); // modulo: dst unchanged (32-bit: zero-extended)
  }
  void divide_by_minus_one_result(bool w, bool modulo, Reg dst) {
    if (modulo) e_.zero(dst);
    else e_.neg(w, dst);
  }
  void divide_imm(const Insn &d, size_t pc, bool w, bool is_signed, bool modulo, Reg dst) {
    if (blind(d)) return divide(pc, w, is_signed, modulo, dst, blinded_imm(w, d.imm), true);
    if (d.imm == 0) return divide_by_zero_result(w, modulo, dst);
    if (is_signed && d.imm == -1) return divide_by_minus_one_result(w, modulo, dst);
    e_.mov_ri(w, R11, d.imm);
    divide(pc, w, is_signed, modulo, dst, R11, false);
  }

  // True when BPF register `reg` is overwritten before it is read on the
  // straight-line code after instruction pc, so its value there is dead and
  // need not be kept. Conservative: any jump, call, exit or atomic (and the
  // end of a short window) counts as a read.
  bool dead_after(size_t pc, uint8_t reg) const {
    constexpr size_t kWindow = 16;
    const size_t n = prog_.insns.size();
    for (size_t i = pc + 1, seen = 0; i < n && seen < kWindow; i++) {
      const Insn &d = prog_.insns[i];
      if (d.ld_imm64_tail) continue;
      seen++;
      switch (d.info().shape) {
      case Shape::kAluImm:
        if (d.dst != reg) break;
        return d.op == Op::MOV64_IMM || d.op == Op::MOV32_IMM;
      case Shape::kAluReg: {
        const bool is_move = d.op == Op::MOV64_REG || d.op == Op::MOV32_REG || d.op == Op::MOVSX8_64 ||
                             d.op == Op::MOVSX16_64 || d.op == Op::MOVSX32_64 || d.op == Op::MOVSX8_32 ||
                             d.op == Op::MOVSX16_32;
        if (d.src == reg || (d.dst == reg && !is_move)) return false;
        if (d.dst == reg) return true;
        break;
      }
      case Shape::kNeg:
      case Shape::kEndian:
        if (d.dst == reg) return false;
        break;
      case Shape::kLdImm64:
        if (d.dst == reg) return true;
        break;
      case Shape::kLoad:
        if (d.src == reg) return false;
        if (d.dst == reg) return true;
        break;
      case Shape::kStoreImm:
        if (d.dst == reg) return false;
        break;
      case Shape::kStoreReg:
        if (d.dst == reg || d.src == reg) return false;
        break;
      default: return false; // atomics, jumps, calls, exit
      }
    }
    return false;
  }

  // Fetch-and-or/and/xor: a cmpxchg loop on rax (BPF r0, kept in r10).
  void fetch_op_loop(AluOp op, bool w, Reg base, int16_t off, Reg src) {
    e_.lea(R9, base, off); // before rax changes: base may be r0
    e_.mov_rr(true, R10, RAX);
    Reg operand = src == RAX ? R10 : src;
    e_.load(w ? 8 : 4, false, RAX, R9, 0);
    int64_t loop = here();
    e_.mov_rr(w, R11, RAX);
    e_.alu_rr(op, w, R11, operand);
    e_.lock_cmpxchg(w, R9, 0, R11);
    e_.jcc(kNotEqual, here(), loop, true);
    if (src == RAX) {
      if (!w) e_.mov_rr(false, RAX, RAX);
    } else {
      e_.mov_rr(w, src, RAX);
      e_.mov_rr(true, RAX, R10);
    }
  }

  // True when the code just emitted for the previous instruction (reached only
  // from there) was an add/sub/and/or/xor into BPF register reg whose ZF says
  // whether reg is zero at the width the jump compares: a 32-bit result (zero-
  // extended) answers both widths, a 64-bit one only a 64-bit jump.
  bool zero_flag_is_set_for(uint8_t reg, bool jump_w) const {
    return flags_before_.valid && flags_before_.reg == reg && (jump_w || !flags_before_.w);
  }
  void jump_imm(const Insn &d, size_t pc, bool w, Reg dst, Cond cond) {
    if (blind(d)) e_.alu_rr(AluOp::kCmp, w, dst, blinded_imm(w, d.imm));
    else if (d.imm == 0 && (cond == kEqual || cond == kNotEqual) && zero_flag_is_set_for(d.dst, w)) {
      // The instruction before (add/sub/and/or/xor of dst) left ZF = (dst == 0).
    } else if (d.imm == 0) e_.test_rr(w, dst, dst); // same flags as cmp dst, 0
    else e_.alu_ri(AluOp::kCmp, w, dst, d.imm);
    e_.jcc(cond, from_prev(), target_addr(d.jump_target(pc)), short_ok());
  }

  void load_imm64(const Insn &d, size_t pc, Reg dst) {
    if (d.pseudo == Pseudo::kFunc) {
      // The function's native entry: a fixed-size movabs (its value is only
      // known once the code has its address).
      uint64_t addr = base_ + prev_func_addr_[static_cast<size_t>(d.jump_target(pc))];
      movabs(dst, addr);
      return;
    }
    if (options_.blind_constants) {
      uint64_t key = keys_[cur_] | 1;
      movabs(dst, d.imm64 ^ key);
      movabs(kBlindReg, key);
      e_.alu_rr(AluOp::kXor, true, dst, kBlindReg);
      return;
    }
    e_.mov_ri64(dst, d.imm64);
  }
  void movabs(Reg r, uint64_t v) {
    e_.byte(static_cast<uint8_t>(0x48 | ((r & 8) ? 1 : 0)));
    e_.byte(static_cast<uint8_t>(0xb8 + (r & 7)));
    e_.imm64(v);
  }

  void call_absolute(uint64_t fn) {
    int64_t from = static_cast<int64_t>(base_) + here();
    if (near_helpers_) {
      // call rel32, relative to the final address of this instruction.
      e_.byte(0xe8);
      e_.imm32(static_cast<uint32_t>(static_cast<int64_t>(fn) - (from + 5)));
    } else {
      movabs(R11, fn);
      e_.call_reg(R11);
    }
  }
  void call_helper(const Insn &d) {
    const helpers::HelperProto *h = helpers::find_helper(d.imm);
    // The implementation this program's type calls (bpf_redirect differs for XDP).
    const uint64_t fn = h ? reinterpret_cast<uintptr_t>(helpers::helper_function(*h, options_.prog_type)) : 0;
    int32_t cpu_offset = 0;
    if (d.imm == kGetSmpProcessorIdHelper && current_cpu_thread_offset(&cpu_offset)) {
      // bpf_get_smp_processor_id inline, as the kernel's verifier does: the
      // CPU number from the thread's rseq area (mov eax, fs:[offset]); the
      // helper only when that is not a CPU in [0, ncpus) (negative: this
      // thread has no registered area), so r0 is always the helper's value.
      e_.byte(0x64); // fs:
      e_.byte(0x8b); // mov eax, [disp32] (ModRM rm=100, SIB no base/index)
      e_.byte(0x04);
      e_.byte(0x25);
      e_.imm32(static_cast<uint32_t>(cpu_offset));
      e_.alu_ri(AluOp::kCmp, false, RAX, static_cast<int32_t>(possible_cpus()));
      jcc_cold(kAboveEqual, [this, fn] { call_absolute(fn); });
      return;
    }
    call_absolute(fn);
  }
  // bpf_tail_call(ctx = r1, map = r2, index = r3): r2 and r3 are already
  // the bridge's second and third arguments. r0 and r1 are kept for the
  // fall-through (two pushes keep the stack 16-byte aligned).
  void tail_call() {
    e_.push(RDI);
    e_.push(RAX);
    e_.mov_rr(true, RDI, kCtxReg);
    call_absolute(reinterpret_cast<uintptr_t>(&userbpf_jit_tail_call));
    e_.mov_rr(true, R11, RAX);
    e_.pop(RAX);
    e_.pop(RDI);
    e_.test_rr(true, R11, R11);
    size_t to_fall_through = e_.jcc_forward8(kEqual);
    // The target replaces this function: unwind its frame as the epilogue
    // does, then jump instead of returning.
    e_.alu_ri(AluOp::kAdd, true, RSP, kFrameBytes);
    for (Reg r : {R15, R14, R13, RBX, RBP}) e_.pop(r);
    e_.jmp_reg(R11);
    e_.patch_rel8(to_fall_through, e_.size());
  }
  // A bpf-to-bpf call: at most kMaxCallFrames frames, as the interpreter.
  template <typename EmitCall> void call_local_checked(EmitCall emit_call) {
    e_.cmp_mem32_imm8(kCtxReg, kOffDepth, kMaxDepth);
    e_.jcc(kAboveEqual, here(), too_deep_stub_, true); // the stub is behind, at a fixed place
    e_.inc_mem32(kCtxReg, kOffDepth);
    emit_call();
    e_.dec_mem32(kCtxReg, kOffDepth);
  }
  // bpf_loop(nr_loops = rdi, callback = rsi, ctx = rdx, flags = rcx),
  // inline as the kernel's verifier inlines it: a native loop calling the
  // callback (a BPF function, so a plain call) with rdi = index, rsi = ctx,
  // until it returns non-zero; rax = the iterations run, or -EINVAL (flags),
  // -E2BIG (more than 1 << 23). The loop keeps its state in rbx, r13-r15
  // (callee-saved in every BPF function), the caller's BPF r6-r9 pushed
  // around it (four pushes keep the stack 16-byte aligned). The callback is
  // one frame above this one for the depth check.
  void loop_helper() {
    e_.mov_ri(true, RAX, -EINVAL);
    e_.test_rr(true, RCX, RCX);
    const size_t to_done_flags = jcc_forward32(kNotEqual);
    e_.mov_rr(false, RDI, RDI); // nr_loops is a u32
    e_.mov_ri(true, RAX, -E2BIG);
    e_.alu_ri(AluOp::kCmp, false, RDI, static_cast<int32_t>(helpers::kMaxLoops));
    const size_t to_done_big = jcc_forward32(kAbove);
    e_.zero(RAX);
    e_.test_rr(false, RDI, RDI);
    const size_t to_done_zero = jcc_forward32(kEqual);
    enter_callback_helper();
    for (Reg r : {RBX, R13, R14, R15}) e_.push(r);
    e_.zero(RBX);               // index
    e_.mov_rr(true, R13, RDI); // nr_loops
    e_.mov_rr(true, R14, RSI); // callback
    e_.mov_rr(true, R15, RDX); // ctx
    const int64_t loop = here();
    e_.mov_rr(true, RDI, RBX);
    e_.mov_rr(true, RSI, R15);
    e_.call_reg(R14);
    e_.alu_ri(AluOp::kAdd, true, RBX, 1);
    e_.test_rr(true, RAX, RAX);
    const size_t to_stop = e_.jcc_forward8(kNotEqual);
    e_.alu_rr(AluOp::kCmp, true, RBX, R13);
    e_.jcc(kBelow, here(), loop, true);
    e_.patch_rel8(to_stop, e_.size());
    e_.mov_rr(true, RAX, RBX);
    for (Reg r : {R15, R14, R13, RBX}) e_.pop(r);
    e_.dec_mem32(kCtxReg, kOffDepth);
    for (size_t end : {to_done_flags, to_done_big, to_done_zero}) patch_rel32(end, e_.size());
  }
  // The start of a helper that calls back into the program (bpf_loop,
  // bpf_for_each_map_elem): the callback in rsi (BPF r2) must be a function
  // whose address the program took (the verifier makes sure of it;
  // unverified code gets the callx error), and it runs one frame above this
  // one for the depth check (undone by the helper's end).
  void enter_callback_helper() {
    std::vector<size_t> to_ok;
    for (size_t f : address_taken_) {
      movabs(R10, base_ + prev_func_addr_[f]);
      e_.alu_rr(AluOp::kCmp, true, RSI, R10);
      to_ok.push_back(jcc_forward32(kEqual));
    }
    e_.mov_mem32_imm(kCtxReg, kOffBadReg, 2);
    e_.store(8, kCtxReg, kOffBadValue, RSI);
    e_.jmp(here(), bad_callx_stub_, true);
    for (size_t end : to_ok) patch_rel32(end, e_.size());
    e_.cmp_mem32_imm8(kCtxReg, kOffDepth, kMaxDepth);
    e_.jcc(kAboveEqual, here(), too_deep_stub_, true);
    e_.inc_mem32(kCtxReg, kOffDepth);
  }
  // bpf_for_each_map_elem(map = rdi, callback = rsi, ctx = rdx, flags = rcx):
  // a native loop as bpf_loop's, around the map family's walk. The walk
  // (JitRunContext::for_each[depth]) is kept in rbx, the elements visited
  // in r13, the callback in r14, ctx in r15 (the caller's BPF r6-r9, pushed
  // around the loop). Each round calls for_each_map_step(walk) (a C
  // function: it may clobber r0-r5 and r10-r11, which hold nothing of ours)
  // and then the callback with (map, key, value, ctx), until the walk ends
  // or the callback returns non-zero; rax = the elements visited, or
  // -EINVAL (flags; a map without for_each, which only unverified code can
  // pass).
  void for_each_helper() {
    using helpers::ForEachWalk;
    e_.mov_ri(true, RAX, -EINVAL);
    e_.test_rr(true, RCX, RCX);
    const size_t to_done_flags = jcc_forward32(kNotEqual);
    enter_callback_helper();
    for (Reg r : {RBX, R13, R14, R15}) e_.push(r);
    // rbx = &ctx->for_each[depth - 1] (depth counts the callback's frame already)
    e_.load(4, false, RBX, kCtxReg, kOffDepth);
    e_.imul_rri(true, RBX, RBX, static_cast<int32_t>(sizeof(ForEachWalk)));
    e_.alu_rr(AluOp::kAdd, true, RBX, kCtxReg);
    e_.alu_ri(AluOp::kAdd, true, RBX,
              static_cast<int32_t>(offsetof(JitRunContext, for_each)) - static_cast<int32_t>(sizeof(ForEachWalk)));
    e_.mov_rr(true, R14, RSI);
    e_.mov_rr(true, R15, RDX);
    e_.mov_rr(true, RSI, RDI); // for_each_map_start(walk, map)
    e_.mov_rr(true, RDI, RBX);
    call_absolute(reinterpret_cast<uintptr_t>(&helpers::for_each_map_start));
    e_.test_rr(true, RAX, RAX);
    const size_t to_leave = jcc_forward32(kNotEqual); // rax = -EINVAL: no for_each (unverified code only)
    e_.zero(R13);
    const int64_t loop = here();
    e_.mov_rr(true, RDI, RBX);
    call_absolute(reinterpret_cast<uintptr_t>(&helpers::for_each_map_step));
    e_.test_rr(true, RAX, RAX);
    const size_t to_end = jcc_forward32(kEqual);
    e_.load(8, false, RDI, RBX, static_cast<int32_t>(offsetof(ForEachWalk, map)));
    e_.load(8, false, RSI, RBX, static_cast<int32_t>(offsetof(ForEachWalk, key)));
    e_.load(8, false, RDX, RBX, static_cast<int32_t>(offsetof(ForEachWalk, value)));
    e_.mov_rr(true, RCX, R15);
    e_.call_reg(R14);
    e_.alu_ri(AluOp::kAdd, true, R13, 1);
    e_.test_rr(true, RAX, RAX);
    e_.jcc(kEqual, here(), loop, true);
    patch_rel32(to_end, e_.size());
    e_.mov_rr(true, RAX, R13);
    patch_rel32(to_leave, e_.size());
    for (Reg r : {R15, R14, R13, RBX}) e_.pop(r);
    e_.dec_mem32(kCtxReg, kOffDepth);
    patch_rel32(to_done_flags, e_.size());
  }
  // jcc rel32 to a later place of the same instruction's code: returns the
  // end of the instruction for patch_rel32().
  size_t jcc_forward32(Cond cc) {
    e_.byte(0x0f);
    e_.byte(static_cast<uint8_t>(0x80 | cc));
    e_.imm32(0);
    return e_.size();
  }
  // callx: a function entry LD_IMM64 of a function loaded, else a helper id.
  void callx(const Insn &d, Reg target) {
    e_.mov_rr(true, R11, target);
    std::vector<size_t> to_local;
    for (size_t f : address_taken_) {
      movabs(R10, base_ + prev_func_addr_[f]);
      e_.alu_rr(AluOp::kCmp, true, R11, R10);
      to_local.push_back(jcc_forward32(kEqual));
    }
    // A helper id: ask for its function with r1..r5 and r0 preserved (six
    // pushes keep the stack 16-byte aligned).
    for (Reg r : {RDI, RSI, RDX, RCX, R8, RAX}) e_.push(r);
    e_.mov_rr(true, RDI, R11);
    call_absolute(reinterpret_cast<uintptr_t>(&userbpf_jit_helper_for_callx));
    e_.mov_rr(true, R11, RAX);
    for (Reg r : {RAX, R8, RCX, RDX, RSI, RDI}) e_.pop(r);
    e_.test_rr(true, R11, R11);
    size_t to_bad = e_.jcc_forward8(kEqual);
    e_.call_reg(R11);
    e_.byte(0xe9); // jmp done, rel32
    e_.imm32(0);
    size_t jmp_done_end = e_.size();
    e_.patch_rel8(to_bad, e_.size());
    e_.mov_mem32_imm(kCtxReg, kOffBadReg, d.dst);
    e_.store(8, kCtxReg, kOffBadValue, target);
    e_.jmp(here(), bad_callx_stub_, true);
    size_t local_at = e_.size();
    for (size_t end : to_local) patch_rel32(end, local_at);
    call_local_checked([&] { e_.call_reg(R11); });
    patch_rel32(jmp_done_end, e_.size());
  }
  void patch_rel32(size_t end_of_insn, size_t target) {
    int32_t rel = static_cast<int32_t>(static_cast<int64_t>(target) - static_cast<int64_t>(end_of_insn));
    std::memcpy(e_.bytes().data() + end_of_insn - 4, &rel, 4);
  }

  const DecodedProgram &prog_;
  const JitOptions options_;
  Emitter e_;
  uint64_t base_ = 0;
  bool near_helpers_ = true;
  bool first_done_ = false;
  bool allow_short_ = true;
  size_t cur_ = 0;
  std::vector<bool> is_function_;
  std::vector<bool> is_jump_target_;
  // The last instruction's x86 code ended with an ALU op whose flags describe
  // BPF register `reg` (w: a 64-bit op); see zero_flag_is_set_for().
  struct FlagsFrom {
    bool valid = false;
    uint8_t reg = 0;
    bool w = false;
  };
  FlagsFrom flags_, flags_before_;
  std::vector<size_t> address_taken_;
  std::vector<uint64_t> insn_addr_, insn_begin_, func_addr_;
  std::vector<uint64_t> prev_insn_addr_, prev_func_addr_;
  std::vector<ColdStub> cold_;
  size_t cold_flushed_ = 0;
  std::vector<uint64_t> cold_addr_, prev_cold_addr_;
  std::vector<uint64_t> keys_;
  int64_t main_entry_ = 0, restore_at_ = 0, too_deep_stub_ = 0, unwind_stub_ = 0, bad_callx_stub_ = 0;
  int64_t interpreted_tail_stub_ = 0;
};

bool reachable_rel32(uint64_t from_lo, uint64_t from_hi, uint64_t to) {
  int64_t a = static_cast<int64_t>(to) - static_cast<int64_t>(from_lo);
  int64_t b = static_cast<int64_t>(to) - static_cast<int64_t>(from_hi);
  return fits_int32(a) && fits_int32(b);
}

// Where the next image is placed: a cursor moving through a 1 GiB window
// next to the helpers' code, so that code and helpers are within a rel32 call.
// (Exact hints, each image after the previous one: a fixed hint would be taken
// by the first image and every later one would search.)
std::atomic<uint64_t> g_next_code_hint{0};
constexpr uint64_t kCodeWindow = 1ull << 30;

uint64_t next_code_hint(uint64_t lo, uint64_t hi, uint64_t size) {
  // Below the code when there is room (PIE executables and libraries sit
  // high), else above it.
  const uint64_t window_start = lo > 2 * kCodeWindow ? lo - kCodeWindow : hi + (256ull << 20);
  const uint64_t window_end = window_start + kCodeWindow - (64ull << 20);
  uint64_t hint = g_next_code_hint.load();
  for (;;) {
    uint64_t at = hint < window_start || hint + size > window_end ? window_start : hint;
    if (g_next_code_hint.compare_exchange_weak(hint, at + size)) return at;
  }
}

// An RW mapping of `size` bytes from which every helper is reachable with a
// rel32 call, when one can be found near the library's code; else any (and
// the code calls helpers through a register).
uint8_t *map_code(size_t size, const std::vector<uint64_t> &targets, bool try_near, bool *near) {
  uint64_t lo = UINT64_MAX, hi = 0;
  for (uint64_t t : targets) {
    lo = std::min(lo, t);
    hi = std::max(hi, t);
  }
  for (int attempt = 0; try_near && attempt < 4; attempt++) {
    uint64_t hint = next_code_hint(lo, hi, size);
    void *p = mmap(reinterpret_cast<void *>(hint), size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    uint64_t at = reinterpret_cast<uintptr_t>(p);
    bool ok = true;
    for (uint64_t t : targets) ok &= reachable_rel32(at, at + size, t);
    if (ok) {
      *near = true;
      return static_cast<uint8_t *>(p);
    }
    munmap(p, size);
  }
  void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  *near = false;
  return static_cast<uint8_t *>(p);
}

} // namespace

int JitImage::compile(const DecodedProgram &decoded, const JitOptions &options, std::unique_ptr<JitImage> *out,
                      std::string *error) {
  if (!jit_supported()) {
    if (error) *error = "no JIT for this CPU";
    return -EOPNOTSUPP;
  }
  const size_t n = decoded.insns.size();
  for (size_t pc = 0; pc < n; pc++) {
    const Insn &d = decoded.insns[pc];
    if (d.ld_imm64_tail) continue;
    auto fail = [&](const std::string &why) {
      if (error) *error = "insn " + std::to_string(pc) + ": " + why;
      return -EINVAL;
    };
    if (d.op == Op::CALL && !helpers::find_helper(d.imm)) return fail("invalid func unknown#" + std::to_string(d.imm));
    if (is_ld_packet(d.info().shape) && !ld_packet_fields_ok(d)) return fail("BPF_LD_[ABS|IND] uses reserved fields");
    if (d.op == Op::LD_IMM64 && d.pseudo != Pseudo::kNone && d.pseudo != Pseudo::kFunc)
      return fail("ld_imm64 with src_reg " + std::to_string(static_cast<int>(d.pseudo)) +
                  " was not resolved by the loader");
  }
  if (n == 0) {
    if (error) *error = "empty program";
    return -EINVAL;
  }

  Compiler compiler(decoded, options);
  // Lay the code out until a pass reproduces its input; if shrinking jumps
  // takes too many passes, long jumps only (then two passes settle it).
  auto converge = [&compiler](uint64_t base, bool near) {
    constexpr int kMaxPasses = 20;
    for (int pass = 0; pass < kMaxPasses; pass++)
      if (compiler.pass(base, near)) return;
    compiler.use_long_jumps();
    while (!compiler.pass(base, near)) {
    }
  };
  // First at a provisional base (sizes do not depend on it with near calls),
  // then, once the code has its address, the final emission there (helper
  // calls and function addresses are absolute). Far helpers make calls
  // longer: the code may then need a larger mapping, taken once more.
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  bool near = options.near_helpers;
  converge(0, near);
  size_t size = compiler.bytes().size();
  size_t mapping = 0;
  uint8_t *mem = nullptr;
  for (int attempt = 0; attempt < 3; attempt++) {
    mapping = (size + page - 1) & ~(page - 1);
    mem = map_code(mapping, compiler.helper_targets(), options.near_helpers, &near);
    if (!mem) {
      if (error) *error = "no memory for the JIT image";
      return -ENOMEM;
    }
    converge(reinterpret_cast<uintptr_t>(mem), near);
    size = compiler.bytes().size();
    if (size <= mapping) break;
    munmap(mem, mapping);
    mem = nullptr;
  }
  if (!mem) {
    if (error) *error = "the JIT image does not fit its mapping";
    return -EINVAL;
  }
  size = compiler.bytes().size();
  std::memcpy(mem, compiler.bytes().data(), size);
  std::memset(mem + size, 0xcc, mapping - size); // int3 after the code
  if (mprotect(mem, mapping, PROT_READ | PROT_EXEC) != 0) {
    int e = errno;
    munmap(mem, mapping);
    if (error) *error = std::string("mprotect of the JIT image: ") + strerror(e);
    return -e;
  }
  std::unique_ptr<JitImage> image(new JitImage());
  image->code_ = mem;
  image->code_size_ = size;
  image->mapping_size_ = mapping;
  image->interpreted_tail_stub_ = compiler.interpreted_tail_stub();
  image->insn_begin_.assign(compiler.insn_begin().begin(), compiler.insn_begin().end());
  image->function_entry_.assign(n, -1);
  for (size_t pc = 0; pc < n; pc++)
    if (compiler.is_function()[pc]) image->function_entry_[pc] = static_cast<int64_t>(compiler.func_addr()[pc]);
  *out = std::move(image);
  return 0;
}

JitImage::~JitImage() {
  if (!code_) return;
  // Another thread may still be inside this code (in its RCU read-side
  // section): unmap after a grace period.
  uint8_t *code = code_;
  size_t size = mapping_size_;
  rcu_defer([code, size] { munmap(code, size); });
}

uintptr_t JitImage::entry(size_t i) const {
  if (i >= function_entry_.size() || function_entry_[i] < 0) return 0;
  return reinterpret_cast<uintptr_t>(code_) + static_cast<uintptr_t>(function_entry_[i]);
}

std::vector<JitImage::Function> JitImage::functions() const {
  std::vector<Function> out;
  for (size_t i = 0; i < function_entry_.size(); i++) {
    if (function_entry_[i] < 0) continue;
    // The main function from the entry trampoline (after the int3 padding).
    size_t begin = out.empty() ? kEntryOffset : static_cast<size_t>(function_entry_[i]);
    if (!out.empty()) out.back().size = begin - out.back().begin;
    out.push_back({i, begin, code_size_ - begin});
  }
  return out;
}

RunResult JitImage::run(uint64_t r1, uint64_t r2) const {
  JitRunContext ctx;
  ctx.interpreted_tail_stub = reinterpret_cast<uintptr_t>(code_) + interpreted_tail_stub_;
  JitEntry entry_fn = reinterpret_cast<JitEntry>(reinterpret_cast<uintptr_t>(code_ + kEntryOffset));
  RunResult result;
  uint64_t r0 = entry_fn(r1, r2, &ctx);
  if (ctx.err == 0) {
    result.r0 = r0;
    return result;
  }
  result.err = ctx.err;
  if (ctx.interpreted_error)
    result.error = std::move(t_interpreted_tail_error);
  else if (ctx.err == -E2BIG)
    result.error = "the call stack of " + std::to_string(ctx.depth + 2) + " frames is too deep (max " +
                   std::to_string(kMaxCallFrames) + ")";
  else
    result.error = "callx: r" + std::to_string(ctx.bad_reg) + " = " + std::to_string(ctx.bad_value) +
                   " is neither a subprogram nor a helper";
  return result;
}

} // namespace userbpf::vm
