// A small x86-64 instruction encoder for the JIT (src/vm/jit_x86_64.cpp).
//
// Only the forms the JIT needs, each one function named after the
// instruction it encodes. Bytes go to a growable buffer; the JIT emits the
// whole program several times (jump sizes shrink from pass to pass) and copies
// the last pass into executable memory. Encoding references: Intel SDM vol. 2
// (REX prefix, ModRM/SIB, the opcode tables).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace userbpf::vm::x86 {

// x86-64 general-purpose registers, numbered as in the encoding.
enum Reg : uint8_t {
  RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7,
  R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15,
};

// Condition codes (the low nibble of Jcc / SETcc).
enum Cond : uint8_t {
  kBelow = 0x2, kAboveEqual = 0x3, kEqual = 0x4, kNotEqual = 0x5, kBelowEqual = 0x6, kAbove = 0x7,
  kLess = 0xc, kGreaterEqual = 0xd, kLessEqual = 0xe, kGreater = 0xf,
};

// The /digit of the 0x81/0x83 immediate group and the matching reg-reg opcode.
enum class AluOp : uint8_t { kAdd = 0, kOr = 1, kAnd = 4, kSub = 5, kXor = 6, kCmp = 7 };
// The /digit of the shift group (0xc1, 0xd3).
enum class ShiftOp : uint8_t { kShl = 4, kShr = 5, kSar = 7 };

inline bool fits_int8(int64_t v) { return v >= -128 && v <= 127; }
inline bool fits_int32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

class Emitter {
public:
  std::vector<uint8_t> &bytes() { return buf_; }
  size_t size() const { return buf_.size(); }
  void clear() { buf_.clear(); }

  void byte(uint8_t b) { buf_.push_back(b); }
  void imm16(uint16_t v) { put(&v, 2); }
  void imm32(uint32_t v) { put(&v, 4); }
  void imm64(uint64_t v) { put(&v, 8); }
  void patch_rel8(size_t at, size_t target) { buf_[at] = static_cast<uint8_t>(static_cast<int8_t>(target - (at + 1))); }

  // ---- register to register (w: 64-bit operand size)
  // op dst, src for add/or/and/sub/xor/cmp.
  void alu_rr(AluOp op, bool w, Reg dst, Reg src) { rr(w, kAluRegOpcode[static_cast<int>(op)], src, dst); }
  void alu_ri(AluOp op, bool w, Reg dst, int32_t imm) {
    rex(w, 0, dst);
    if (fits_int8(imm)) {
      byte(0x83);
      modrm_reg(static_cast<uint8_t>(op), dst);
      byte(static_cast<uint8_t>(imm));
    } else {
      byte(0x81);
      modrm_reg(static_cast<uint8_t>(op), dst);
      imm32(static_cast<uint32_t>(imm));
    }
  }
  void mov_rr(bool w, Reg dst, Reg src) { rr(w, 0x89, src, dst); }
  void test_rr(bool w, Reg a, Reg b) { rr(w, 0x85, b, a); }
  void test_ri(bool w, Reg r, int32_t imm) {
    rex(w, 0, r);
    byte(0xf7);
    modrm_reg(0, r);
    imm32(static_cast<uint32_t>(imm));
  }
  // dst = sign-extended imm (w) or zero-extended imm32 (!w).
  void mov_ri(bool w, Reg dst, int32_t imm) {
    if (!w || imm >= 0) { // mov r32, imm32 zero-extends: shorter than the sign-extending form
      rex(false, 0, dst);
      byte(static_cast<uint8_t>(0xb8 + (dst & 7)));
      imm32(static_cast<uint32_t>(imm));
      return;
    }
    rex(true, 0, dst);
    byte(0xc7);
    modrm_reg(0, dst);
    imm32(static_cast<uint32_t>(imm));
  }
  void mov_ri64(Reg dst, uint64_t v) {
    if (v <= UINT32_MAX) return mov_ri(false, dst, static_cast<int32_t>(static_cast<uint32_t>(v)));
    if (fits_int32(static_cast<int64_t>(v))) return mov_ri(true, dst, static_cast<int32_t>(v));
    rex(true, 0, dst);
    byte(static_cast<uint8_t>(0xb8 + (dst & 7)));
    imm64(v);
  }
  void zero(Reg r) { alu_rr(AluOp::kXor, false, r, r); }
  void imul_rr(bool w, Reg dst, Reg src) { rr0f(w, 0xaf, dst, src); }
  void imul_rri(bool w, Reg dst, Reg src, int32_t imm) {
    rex(w, dst, src);
    if (fits_int8(imm)) {
      byte(0x6b);
      modrm_rr(dst, src);
      byte(static_cast<uint8_t>(imm));
    } else {
      byte(0x69);
      modrm_rr(dst, src);
      imm32(static_cast<uint32_t>(imm));
    }
  }
  void neg(bool w, Reg r) { group_f7(w, 3, r); }
  void div(bool w, Reg r) { group_f7(w, 6, r); }   // rdx:rax / r
  void idiv(bool w, Reg r) { group_f7(w, 7, r); }
  void sign_extend_rax_into_rdx(bool w) { // cqo / cdq
    if (w) byte(0x48);
    byte(0x99);
  }
  void shift_ri(ShiftOp op, bool w, Reg r, uint8_t count) {
    rex(w, 0, r);
    byte(0xc1);
    modrm_reg(static_cast<uint8_t>(op), r);
    byte(count);
  }
  void shift_cl(ShiftOp op, bool w, Reg r) {
    rex(w, 0, r);
    byte(0xd3);
    modrm_reg(static_cast<uint8_t>(op), r);
  }
  void ror16_by8(Reg r) { // ror r16, 8
    byte(0x66);
    rex(false, 0, r);
    byte(0xc1);
    modrm_reg(1, r);
    byte(8);
  }
  void bswap(bool w, Reg r) {
    rex(w, 0, r);
    byte(0x0f);
    byte(static_cast<uint8_t>(0xc8 + (r & 7)));
  }
  // Sign and zero extensions from the low 8/16/32 bits of src.
  void movsx8(bool w, Reg dst, Reg src) { rr0f(w, 0xbe, dst, src, /*byte_src=*/true); }
  void movsx16(bool w, Reg dst, Reg src) { rr0f(w, 0xbf, dst, src); }
  void movsxd(Reg dst, Reg src) {
    rex(true, dst, src);
    byte(0x63);
    modrm_rr(dst, src);
  }
  void movzx16(Reg dst, Reg src) { rr0f(false, 0xb7, dst, src); }

  // ---- memory operands [base + disp]
  // Loads: 1/2-byte zero-extending, 4 (zero-extends), 8; and sign-extending.
  void load(int size, bool sign, Reg dst, Reg base, int32_t disp) {
    switch (size) {
    case 1: mem0f(sign, sign ? 0xbe : 0xb6, dst, base, disp); break;
    case 2: mem0f(sign, sign ? 0xbf : 0xb7, dst, base, disp); break;
    case 4:
      if (sign) {
        mem(true, 0x63, dst, base, disp);
      } else {
        mem(false, 0x8b, dst, base, disp);
      }
      break;
    default: mem(true, 0x8b, dst, base, disp); break;
    }
  }
  void store(int size, Reg base, int32_t disp, Reg src) {
    switch (size) {
    case 1: mem(false, 0x88, src, base, disp, /*byte_reg=*/true); break;
    case 2:
      byte(0x66);
      mem(false, 0x89, src, base, disp);
      break;
    case 4: mem(false, 0x89, src, base, disp); break;
    default: mem(true, 0x89, src, base, disp); break;
    }
  }
  void store_imm(int size, Reg base, int32_t disp, int32_t imm) {
    switch (size) {
    case 1:
      mem(false, 0xc6, Reg(0), base, disp);
      byte(static_cast<uint8_t>(imm));
      break;
    case 2:
      byte(0x66);
      mem(false, 0xc7, Reg(0), base, disp);
      imm16(static_cast<uint16_t>(imm));
      break;
    case 4:
      mem(false, 0xc7, Reg(0), base, disp);
      imm32(static_cast<uint32_t>(imm));
      break;
    default:
      mem(true, 0xc7, Reg(0), base, disp);
      imm32(static_cast<uint32_t>(imm));
      break;
    }
  }
  void lea(Reg dst, Reg base, int32_t disp) { mem(true, 0x8d, dst, base, disp); }
  // dst = base + index * scale (scale 1, 2, 4 or 8; w: 64-bit, else the
  // 32-bit sum zero-extended). A one-cycle add-and-shift: multiplications by
  // 3, 5 and 9 become one of these. index must not be rsp.
  void lea_scaled(bool w, Reg dst, Reg base, Reg index, int scale) {
    const uint8_t scale_bits = scale == 8 ? 3 : scale == 4 ? 2 : scale == 2 ? 1 : 0;
    const uint8_t r = static_cast<uint8_t>(0x40 | (w ? 8 : 0) | ((dst & 8) ? 4 : 0) | ((index & 8) ? 2 : 0) |
                                           ((base & 8) ? 1 : 0));
    if (r != 0x40) byte(r);
    byte(0x8d);
    // rbp/r13 as a base with mod 00 would mean "no base, disp32": use a zero disp8.
    const bool needs_disp8 = (base & 7) == 5;
    byte(static_cast<uint8_t>((needs_disp8 ? 0x40 : 0x00) | (dst & 7) << 3 | 4)); // rm 100: a SIB follows
    byte(static_cast<uint8_t>(scale_bits << 6 | (index & 7) << 3 | (base & 7)));
    if (needs_disp8) byte(0);
  }
  // lock op [base + disp], src for add/or/and/xor (w: 64-bit).
  void lock_alu_mr(AluOp op, bool w, Reg base, int32_t disp, Reg src) {
    byte(0xf0);
    mem(w, kAluRegOpcode[static_cast<int>(op)], src, base, disp);
  }
  void lock_xadd(bool w, Reg base, int32_t disp, Reg src) {
    byte(0xf0);
    mem0f(w, 0xc1, src, base, disp);
  }
  void lock_cmpxchg(bool w, Reg base, int32_t disp, Reg src) {
    byte(0xf0);
    mem0f(w, 0xb1, src, base, disp);
  }
  void xchg_mr(bool w, Reg base, int32_t disp, Reg src) { mem(w, 0x87, src, base, disp); } // locked implicitly
  void inc_mem32(Reg base, int32_t disp) { mem(false, 0xff, Reg(0), base, disp); }
  void dec_mem32(Reg base, int32_t disp) { mem(false, 0xff, Reg(1), base, disp); }
  void cmp_mem32_imm8(Reg base, int32_t disp, int8_t imm) {
    mem(false, 0x83, Reg(7), base, disp);
    byte(static_cast<uint8_t>(imm));
  }
  void mov_mem32_imm(Reg base, int32_t disp, int32_t imm) { store_imm(4, base, disp, imm); }

  // ---- control flow
  void push(Reg r) {
    rex(false, 0, r);
    byte(static_cast<uint8_t>(0x50 + (r & 7)));
  }
  void pop(Reg r) {
    rex(false, 0, r);
    byte(static_cast<uint8_t>(0x58 + (r & 7)));
  }
  void ret() { byte(0xc3); }
  void call_reg(Reg r) {
    rex(false, 0, r);
    byte(0xff);
    modrm_reg(2, r);
  }
  void jmp_reg(Reg r) {
    rex(false, 0, r);
    byte(0xff);
    modrm_reg(4, r);
  }
  // Relative jumps and calls: `from` is the address this instruction starts
  // at in the final image, `to` its target; a short form when it fits and
  // `allow_short`. Returns nothing: the caller measures sizes through size().
  void jmp(int64_t from, int64_t to, bool allow_short) {
    if (allow_short && fits_int8(to - (from + 2))) {
      byte(0xeb);
      byte(static_cast<uint8_t>(to - (from + 2)));
    } else {
      byte(0xe9);
      imm32(static_cast<uint32_t>(to - (from + 5)));
    }
  }
  void jcc(Cond cc, int64_t from, int64_t to, bool allow_short) {
    if (allow_short && fits_int8(to - (from + 2))) {
      byte(static_cast<uint8_t>(0x70 | cc));
      byte(static_cast<uint8_t>(to - (from + 2)));
    } else {
      byte(0x0f);
      byte(static_cast<uint8_t>(0x80 | cc));
      imm32(static_cast<uint32_t>(to - (from + 6)));
    }
  }
  // A short jump to a label later in the same instruction's code: returns
  // the position of its displacement byte for patch_rel8().
  size_t jcc_forward8(Cond cc) {
    byte(static_cast<uint8_t>(0x70 | cc));
    byte(0);
    return size() - 1;
  }
  size_t jmp_forward8() {
    byte(0xeb);
    byte(0);
    return size() - 1;
  }
  void call_rel32(int64_t from, int64_t to) {
    byte(0xe8);
    imm32(static_cast<uint32_t>(to - (from + 5)));
  }
  void int3() { byte(0xcc); }

private:
  static constexpr uint8_t kAluRegOpcode[8] = {0x01, 0x09, 0, 0, 0x21, 0x29, 0x31, 0x39};

  void put(const void *p, size_t n) {
    size_t at = buf_.size();
    buf_.resize(at + n);
    std::memcpy(buf_.data() + at, p, n);
  }
  // REX prefix for a ModRM reg field `reg` and r/m (or opcode) register `rm`;
  // omitted when no bit is needed. byte_regs: the instruction names an 8-bit
  // register, where spl/bpl/sil/dil need a REX to be told from ah/ch/dh/bh.
  void rex(bool w, uint8_t reg, uint8_t rm, bool byte_regs = false) {
    uint8_t r = static_cast<uint8_t>(0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((rm & 8) ? 1 : 0));
    if (r != 0x40 || (byte_regs && ((reg >= 4 && reg <= 7) || (rm >= 4 && rm <= 7)))) byte(r);
  }
  void modrm_rr(uint8_t reg, uint8_t rm) { byte(static_cast<uint8_t>(0xc0 | (reg & 7) << 3 | (rm & 7))); }
  void modrm_reg(uint8_t digit, uint8_t rm) { modrm_rr(digit, rm); }
  void rr(bool w, uint8_t opcode, uint8_t reg, uint8_t rm) {
    rex(w, reg, rm);
    byte(opcode);
    modrm_rr(reg, rm);
  }
  void rr0f(bool w, uint8_t opcode, uint8_t reg, uint8_t rm, bool byte_src = false) {
    rex(w, reg, rm, byte_src);
    byte(0x0f);
    byte(opcode);
    modrm_rr(reg, rm);
  }
  void group_f7(bool w, uint8_t digit, uint8_t rm) {
    rex(w, 0, rm);
    byte(0xf7);
    modrm_reg(digit, rm);
  }
  // ModRM (+SIB, +displacement) for [base + disp].
  void modrm_mem(uint8_t reg, uint8_t base, int32_t disp) {
    uint8_t mod = (disp == 0 && (base & 7) != 5) ? 0x00 : fits_int8(disp) ? 0x40 : 0x80;
    byte(static_cast<uint8_t>(mod | (reg & 7) << 3 | (base & 7)));
    if ((base & 7) == 4) byte(0x24); // rsp/r12 as base need a SIB byte
    if (mod == 0x40) byte(static_cast<uint8_t>(disp));
    if (mod == 0x80) imm32(static_cast<uint32_t>(disp));
  }
  void mem(bool w, uint8_t opcode, uint8_t reg, uint8_t base, int32_t disp, bool byte_reg = false) {
    rex(w, reg, base, false);
    if (byte_reg && reg >= 4 && reg <= 7 && !(w || (reg & 8) || (base & 8))) byte(0x40);
    byte(opcode);
    modrm_mem(reg, base, disp);
  }
  void mem0f(bool w, uint8_t opcode, uint8_t reg, uint8_t base, int32_t disp) {
    rex(w, reg, base);
    byte(0x0f);
    byte(opcode);
    modrm_mem(reg, base, disp);
  }

  std::vector<uint8_t> buf_;
};

} // namespace userbpf::vm::x86
