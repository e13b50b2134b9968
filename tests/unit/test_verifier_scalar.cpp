// The verifier's scalar domain (src/verifier/scalar.h): hand-computed cases
// for each tnum operation and each ALU / branch transfer function, the
// kernel's log text, and randomized soundness properties: for scalars built
// from random constraints and concrete members sampled from them, every
// concrete result of an ALU op (the interpreter's semantics) lies in the
// abstract result, every concrete pair satisfying (or not) a condition stays
// in the refined scalars, and scalar_branch_taken is never wrong.
//
// USERBPF_SCALAR_SEED overrides the random seed.
#include <gtest/gtest.h>

#include <linux/bpf.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "verifier/scalar.h"

namespace {

using namespace userbpf::verifier;

// ---------------------------------------------------------------- oracles

// The interpreter's semantics (src/vm/interpreter.cpp): division by zero
// gives 0, modulo by zero leaves dst, shift counts masked, INT_MIN / -1 wraps.
uint64_t concrete_alu(uint8_t op, bool alu32, bool sdiv, uint64_t a64, uint64_t b64) {
  if (alu32) {
    uint32_t a = static_cast<uint32_t>(a64), b = static_cast<uint32_t>(b64);
    uint32_t r = 0;
    switch (op) {
    case BPF_ADD: r = a + b; break;
    case BPF_SUB: r = a - b; break;
    case BPF_MUL: r = a * b; break;
    case BPF_DIV:
      if (sdiv)
        r = !b ? 0u : static_cast<int32_t>(b) == -1 ? 0u - a
                                                    : static_cast<uint32_t>(static_cast<int32_t>(a) / static_cast<int32_t>(b));
      else
        r = b ? a / b : 0;
      break;
    case BPF_MOD:
      if (sdiv)
        r = !b ? a : static_cast<int32_t>(b) == -1 ? 0u
                                                   : static_cast<uint32_t>(static_cast<int32_t>(a) % static_cast<int32_t>(b));
      else
        r = b ? a % b : a;
      break;
    case BPF_AND: r = a & b; break;
    case BPF_OR: r = a | b; break;
    case BPF_XOR: r = a ^ b; break;
    case BPF_LSH: r = a << (b & 31); break;
    case BPF_RSH: r = a >> (b & 31); break;
    case BPF_ARSH: r = static_cast<uint32_t>(static_cast<int32_t>(a) >> (b & 31)); break;
    case BPF_NEG: r = 0u - a; break;
    default: ADD_FAILURE() << "op " << int(op); break;
    }
    return r; // zero-extended
  }
  uint64_t a = a64, b = b64;
  switch (op) {
  case BPF_ADD: return a + b;
  case BPF_SUB: return a - b;
  case BPF_MUL: return a * b;
  case BPF_DIV:
    if (sdiv)
      return !b ? 0 : static_cast<int64_t>(b) == -1 ? 0 - a
                                                    : static_cast<uint64_t>(static_cast<int64_t>(a) / static_cast<int64_t>(b));
    return b ? a / b : 0;
  case BPF_MOD:
    if (sdiv)
      return !b ? a : static_cast<int64_t>(b) == -1 ? 0
                                                    : static_cast<uint64_t>(static_cast<int64_t>(a) % static_cast<int64_t>(b));
    return b ? a % b : a;
  case BPF_AND: return a & b;
  case BPF_OR: return a | b;
  case BPF_XOR: return a ^ b;
  case BPF_LSH: return a << (b & 63);
  case BPF_RSH: return a >> (b & 63);
  case BPF_ARSH: return static_cast<uint64_t>(static_cast<int64_t>(a) >> (b & 63));
  case BPF_NEG: return 0 - a;
  default: ADD_FAILURE() << "op " << int(op); return 0;
  }
}

bool concrete_cond(uint8_t op, bool jmp32, uint64_t a64, uint64_t b64) {
  uint64_t a = jmp32 ? static_cast<uint32_t>(a64) : a64;
  uint64_t b = jmp32 ? static_cast<uint32_t>(b64) : b64;
  int64_t sa = jmp32 ? static_cast<int32_t>(a64) : static_cast<int64_t>(a64);
  int64_t sb = jmp32 ? static_cast<int32_t>(b64) : static_cast<int64_t>(b64);
  switch (op) {
  case BPF_JEQ: return a == b;
  case BPF_JNE: return a != b;
  case BPF_JGT: return a > b;
  case BPF_JGE: return a >= b;
  case BPF_JLT: return a < b;
  case BPF_JLE: return a <= b;
  case BPF_JSGT: return sa > sb;
  case BPF_JSGE: return sa >= sb;
  case BPF_JSLT: return sa < sb;
  case BPF_JSLE: return sa <= sb;
  case BPF_JSET: return (a & b) != 0;
  default: ADD_FAILURE() << "op " << int(op); return false;
  }
}

bool tnum_has(Tnum t, uint64_t x) { return (x & ~t.mask) == t.value; }

// Is x one of the values s describes (tnum and all eight bounds)?
bool contains(const Scalar &s, uint64_t x) {
  auto sx = static_cast<int64_t>(x);
  auto x32 = static_cast<uint32_t>(x);
  auto sx32 = static_cast<int32_t>(x32);
  return tnum_has(s.var_off, x) && s.umin <= x && x <= s.umax && s.smin <= sx && sx <= s.smax && s.u32_min <= x32 &&
         x32 <= s.u32_max && s.s32_min <= sx32 && sx32 <= s.s32_max;
}

std::string dump(const Scalar &s) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{var_off=%s u=[%#llx,%#llx] s=[%lld,%lld] u32=[%#x,%#x] s32=[%d,%d]}", tnum_str(s.var_off).c_str(),
                static_cast<unsigned long long>(s.umin), static_cast<unsigned long long>(s.umax),
                static_cast<long long>(s.smin), static_cast<long long>(s.smax), s.u32_min, s.u32_max, s.s32_min,
                s.s32_max);
  return buf;
}

// ---------------------------------------------------------------- tnum by hand

TEST(Tnum, RangeAndStr) {
  EXPECT_EQ(Tnum::range(0, 255), (Tnum{0, 0xff}));
  EXPECT_EQ(Tnum::range(5, 5), Tnum::constant(5));
  EXPECT_EQ(Tnum::range(4, 6), (Tnum{4, 3})); // 4 ^ 6 = 2: bits 0..1 vary
  EXPECT_EQ(Tnum::range(0x10, 0x1f), (Tnum{0x10, 0xf}));
  EXPECT_TRUE(Tnum::range(0, UINT64_MAX).is_unknown());
  EXPECT_TRUE(Tnum::range(1ull << 63, (1ull << 63) | 1).mask == 1);
  EXPECT_EQ(tnum_str(Tnum{0, 0xff}), "(0x0; 0xff)");
  EXPECT_EQ(tnum_str(Tnum::constant(0x1234)), "4660"); // known: a number
  EXPECT_EQ(tnum_str(Tnum::constant(0x12345)), "0x12345");
  EXPECT_EQ(tnum_str(Tnum::unknown()), "(0x0; 0xffffffffffffffff)");
}

TEST(Tnum, Arithmetic) {
  EXPECT_EQ(tnum_add(Tnum::constant(3), Tnum::constant(4)), Tnum::constant(7));
  EXPECT_EQ(tnum_add(Tnum{0, 1}, Tnum{0, 1}), (Tnum{0, 3}));             // {0,1}+{0,1} = {0,1,2}
  EXPECT_EQ(tnum_add(Tnum{0, 0xff}, Tnum::constant(1)), (Tnum{0, 0x1ff})); // carry may reach bit 8
  EXPECT_EQ(tnum_sub(Tnum::constant(10), Tnum::constant(3)), Tnum::constant(7));
  EXPECT_EQ(tnum_sub(Tnum::constant(4), Tnum{0, 1}), (Tnum{0, 7}));   // {4, 3}: 100 / 011
  EXPECT_EQ(tnum_neg(Tnum::constant(1)), Tnum::constant(UINT64_MAX));
  EXPECT_EQ(tnum_mul(Tnum::constant(3), Tnum::constant(5)), Tnum::constant(15));
  EXPECT_EQ(tnum_mul(Tnum{0, 1}, Tnum::constant(6)), (Tnum{0, 6}));  // {0, 6}
  EXPECT_EQ(tnum_mul(Tnum::constant(4), Tnum{0, 3}), (Tnum{0, 0xc})); // {0,4,8,12}
  EXPECT_EQ(tnum_mul(Tnum::constant(0), Tnum::unknown()), Tnum::constant(0));
}

TEST(Tnum, Bitwise) {
  EXPECT_EQ(tnum_and(Tnum::unknown(), Tnum::constant(0xf0)), (Tnum{0, 0xf0}));
  EXPECT_EQ(tnum_and(Tnum{0x1, 0x2}, Tnum::constant(0x3)), (Tnum{0x1, 0x2}));
  EXPECT_EQ(tnum_or(Tnum{0, 0xf}, Tnum::constant(0x3)), (Tnum{0x3, 0xc}));
  EXPECT_EQ(tnum_xor(Tnum{0x1, 0x2}, Tnum::constant(0x3)), (Tnum{0x0, 0x2})); // {1,3}^3 = {2,0}
  EXPECT_EQ(tnum_lshift(Tnum{1, 2}, 4), (Tnum{0x10, 0x20}));
  EXPECT_EQ(tnum_rshift(Tnum{0x10, 0x20}, 4), (Tnum{1, 2}));
  EXPECT_EQ(tnum_arshift(Tnum::constant(0x80000000), 4, 32), Tnum::constant(0xf8000000));
  EXPECT_EQ(tnum_arshift(Tnum::constant(0x80000000), 4, 64), Tnum::constant(0x08000000));
  EXPECT_EQ(tnum_arshift(Tnum::constant(1ull << 63), 4, 64), Tnum::constant(0xf8ull << 56));
  EXPECT_EQ(tnum_arshift(Tnum{0, 0x80000000}, 1, 32), (Tnum{0, 0xc0000000}));
  EXPECT_EQ(tnum_intersect(Tnum{0, 0xff}, Tnum{0x10, 0x0f}), (Tnum{0x10, 0x0f}));
  EXPECT_EQ(tnum_union(Tnum::constant(4), Tnum::constant(6)), (Tnum{4, 2}));
  EXPECT_EQ(tnum_cast(Tnum::constant(0x123456789), 2), Tnum::constant(0x6789));
  EXPECT_EQ(tnum_subreg(Tnum::unknown()), (Tnum{0, 0xffffffff}));
  EXPECT_EQ(tnum_clear_subreg(Tnum::unknown()), (Tnum{0, 0xffffffff00000000ull}));
  EXPECT_EQ(tnum_with_subreg(Tnum::unknown(), Tnum::constant(7)), (Tnum{7, 0xffffffff00000000ull}));
  EXPECT_EQ(tnum_const_subreg(Tnum::constant(0x500000000ull), 9), Tnum::constant(0x500000009ull));
  EXPECT_TRUE(tnum_in(Tnum{0, 0xff}, Tnum{0x10, 0x0f}));
  EXPECT_FALSE(tnum_in(Tnum{0x10, 0x0f}, Tnum{0, 0xff}));
  EXPECT_FALSE(tnum_in(Tnum{0x10, 0x0f}, Tnum::constant(0x20)));
  EXPECT_TRUE(tnum_is_aligned(Tnum{0x8, 0x10}, 8));
  EXPECT_FALSE(tnum_is_aligned(Tnum{0x8, 0x11}, 8));
  EXPECT_TRUE(tnum_is_aligned(Tnum::unknown(), 0));
}

// ---------------------------------------------------------------- scalars by hand

Scalar urange(uint64_t lo, uint64_t hi) { return Scalar::unsigned_range(lo, hi); }

Scalar srange(int64_t lo, int64_t hi) {
  Scalar s;
  s.smin = lo;
  s.smax = hi;
  s.sync();
  return s;
}

TEST(Scalar, ConstructorsAndSync) {
  Scalar c = Scalar::constant(UINT64_MAX);
  EXPECT_EQ(c.smin, -1);
  EXPECT_EQ(c.u32_max, UINT32_MAX);
  EXPECT_EQ(c.s32_min, -1);
  EXPECT_TRUE(c.consistent());
  Scalar r = urange(0, 255);
  EXPECT_EQ(r.var_off, (Tnum{0, 0xff}));
  EXPECT_EQ(r.smin, 0);
  EXPECT_EQ(r.smax, 255);
  EXPECT_EQ(r.u32_max, 255u);
  EXPECT_EQ(r.s32_max, 255);
  // var_off teaches the bounds: (0; 0xf0) is [0, 240].
  Scalar t;
  t.var_off = Tnum{0, 0xf0};
  t.sync();
  EXPECT_EQ(t.umax, 240u);
  EXPECT_EQ(t.smax, 240);
  EXPECT_EQ(t.s32_min, 0);
  // s64 [-5, 5]: the upper halves are 0xffffffff then 0, the low half a
  // proper s32 range.
  Scalar s = srange(-5, 5);
  EXPECT_EQ(s.s32_min, -5);
  EXPECT_EQ(s.s32_max, 5);
  EXPECT_EQ(s.umin, 0u);
  EXPECT_EQ(s.umax, UINT64_MAX);
  // u32 [1, 0x7fffffff] with u64 [0x100000000, 0x380000000]: low halves
  // move into the 64-bit bounds.
  Scalar m;
  m.umin = 0x100000000ull;
  m.umax = 0x380000000ull;
  m.u32_min = 1;
  m.u32_max = 0x7fffffff;
  m.sync();
  EXPECT_EQ(m.umin, 0x100000001ull);
  EXPECT_EQ(m.umax, 0x37fffffffull);
  // The s64 range wraps the sign boundary, the u64 range meets only its
  // non-negative piece (6.17+ deduction).
  Scalar w;
  w.smin = -100;
  w.smax = 100;
  w.umin = 10;
  w.umax = 1000;
  w.sync();
  EXPECT_EQ(w.smin, 10);
  EXPECT_EQ(w.umax, 100u);
  EXPECT_TRUE(w.consistent());
  Scalar bad;
  bad.umin = 5;
  bad.umax = 4;
  EXPECT_FALSE(bad.consistent());
  // The text the running kernel logged for a contradiction it met
  // ("verifier bug: REG INVARIANTS VIOLATION (true_reg2): ...").
  Scalar v;
  v.var_off = Tnum{0, 0xffff};
  v.umin = 0;
  v.umax = 0xffff;
  v.smin = 0;
  v.smax = 0xffff;
  v.u32_min = 0x2a0e2e15;
  v.u32_max = 0xffff;
  v.s32_min = 0;
  v.s32_max = 0xffff;
  EXPECT_EQ(scalar_invariant_violation(v), "range bounds violation u64=[0x0, 0xffff] s64=[0x0, 0xffff] "
                                           "u32=[0x2a0e2e15, 0xffff] s32=[0x0, 0xffff] var_off=(0x0, 0xffff)");
  v.mark_unbounded();
  EXPECT_EQ(scalar_invariant_violation(v), "");
  EXPECT_EQ(scalar_str(v), "var_off=(0x0; 0xffff)"); // as the kernel then prints it
  EXPECT_EQ(scalar_invariant_violation(urange(3, 9)), "");
  Scalar c9 = Scalar::constant(9);
  c9.smax = 10;
  EXPECT_EQ(scalar_invariant_violation(c9).rfind("const tnum out of sync with range bounds", 0), 0u);
  Scalar w9 = Scalar::unknown();
  w9.var_off = Tnum{9, 0xffffffff00000000ull};
  EXPECT_EQ(scalar_invariant_violation(w9).rfind("const subreg tnum out of sync with range bounds", 0), 0u);
  Scalar badc = Scalar::constant(3);
  badc.umax = 4;
  EXPECT_FALSE(badc.consistent());
}

TEST(Scalar, TruncateAndSignExtend) {
  Scalar a = urange(0x1f0, 0x2ff);
  a.truncate(1); // low bytes wrap: anything in a byte
  EXPECT_EQ(a.umin, 0u);
  EXPECT_EQ(a.umax, 255u);
  Scalar b = urange(0x1f0, 0x1ff);
  b.truncate(1);
  EXPECT_EQ(b.umin, 0xf0u);
  EXPECT_EQ(b.umax, 0xffu);
  Scalar u8 = Scalar::unknown(); // an unknown byte load: coerce_reg_to_size(1)
  u8.truncate(1);
  EXPECT_EQ(u8, urange(0, 255));
  Scalar c = Scalar::constant(0x1234567890ull);
  c.truncate(4);
  EXPECT_TRUE(c.is_const());
  EXPECT_EQ(c.const_value(), 0x34567890u);

  Scalar d = Scalar::constant(0x80);
  d.sign_extend64(1);
  EXPECT_EQ(d.const_value(), static_cast<uint64_t>(-128));
  EXPECT_EQ(d.smin, -128);
  Scalar e = urange(0x80, 0x90); // all negative as s8
  e.sign_extend64(1);
  EXPECT_EQ(e.smin, -128);
  EXPECT_EQ(e.smax, -112);
  Scalar f = urange(0x70, 0x90); // crosses the s8 sign: any s8
  f.sign_extend64(1);
  EXPECT_EQ(f.smin, -128);
  EXPECT_EQ(f.smax, 127);
  EXPECT_TRUE(f.var_off.is_unknown());
  Scalar g = Scalar::constant(0xff80);
  g.sign_extend32(2);
  EXPECT_EQ(g.const_value(), 0xffffff80u); // sign-extended to 32 bits, zero above
  Scalar h = urange(0x8000, 0x8010);
  h.sign_extend32(2);
  EXPECT_EQ(h.u32_min, 0xffff8000u);
  EXPECT_EQ(h.u32_max, 0xffff8010u);
  EXPECT_EQ(h.umax, 0xffff8010u);
  EXPECT_EQ(h.s32_min, -32768);
}

TEST(Scalar, AluByHand) {
  // [0,255] + 1
  Scalar r = scalar_alu(BPF_ADD, false, urange(0, 255), Scalar::constant(1));
  EXPECT_EQ(r.umin, 1u);
  EXPECT_EQ(r.umax, 256u);
  EXPECT_EQ(r.var_off, (Tnum{0, 0x1ff}));
  EXPECT_EQ(scalar_str(r), "smin=umin=smin32=umin32=1,smax=umax=smax32=umax32=256,var_off=(0x0; 0x1ff)");
  // unsigned add: some sums wrap, some not -> unknown u64
  r = scalar_alu(BPF_ADD, false, urange(UINT64_MAX - 1, UINT64_MAX), urange(0, 1));
  EXPECT_EQ(r.umin, 0u);
  EXPECT_EQ(r.umax, UINT64_MAX);
  EXPECT_EQ(r.smin, -2); // signed: [-2,-1] + [0,1] = [-2, 0]
  EXPECT_EQ(r.smax, 0);
  // all sums wrap: stays a range
  r = scalar_alu(BPF_ADD, false, urange(UINT64_MAX - 1, UINT64_MAX), urange(2, 3));
  EXPECT_EQ(r.umin, 0u);
  EXPECT_EQ(r.umax, 2u);
  // 5 - [0,10] = [-5, 5]
  r = scalar_alu(BPF_SUB, false, Scalar::constant(5), urange(0, 10));
  EXPECT_EQ(r.smin, -5);
  EXPECT_EQ(r.smax, 5);
  EXPECT_EQ(r.s32_min, -5);
  EXPECT_EQ(r.s32_max, 5);
  EXPECT_EQ(r.umax, UINT64_MAX);
  // [2,3] * [4,5]
  r = scalar_alu(BPF_MUL, false, urange(2, 3), urange(4, 5));
  EXPECT_EQ(r.umin, 8u);
  EXPECT_EQ(r.umax, 15u);
  EXPECT_EQ(r.smin, 8);
  // signed products: [-3, 2] * [4, 5] = [-15, 10]
  r = scalar_alu(BPF_MUL, false, srange(-3, 2), urange(4, 5));
  EXPECT_EQ(r.smin, -15);
  EXPECT_EQ(r.smax, 10);
  // w0 = unknown; w0 &= 0x3f00 -- the kernel's own log line
  r = scalar_alu(BPF_AND, true, Scalar::unknown(), Scalar::constant(0x3f00));
  EXPECT_EQ(scalar_str(r), "smin=smin32=0,smax=umax=smax32=umax32=16128,var_off=(0x0; 0x3f00)");
  // or / xor
  r = scalar_alu(BPF_OR, false, urange(0, 15), Scalar::constant(0x100));
  EXPECT_EQ(r.umin, 0x100u);
  EXPECT_EQ(r.umax, 0x10fu);
  r = scalar_alu(BPF_XOR, false, Scalar::constant(0xff), Scalar::constant(0x0f));
  EXPECT_TRUE(r.is_const());
  EXPECT_EQ(r.const_value(), 0xf0u);
  // shifts
  r = scalar_alu(BPF_LSH, false, urange(1, 3), Scalar::constant(2));
  EXPECT_EQ(r.umin, 4u);
  EXPECT_EQ(r.umax, 12u);
  EXPECT_EQ(r.var_off, (Tnum{0, 0xc}));
  r = scalar_alu(BPF_RSH, false, Scalar::unknown(), Scalar::constant(60));
  EXPECT_EQ(r.umax, 15u);
  EXPECT_EQ(r.smin, 0);
  r = scalar_alu(BPF_ARSH, false, Scalar::constant(static_cast<uint64_t>(-16)), Scalar::constant(2));
  EXPECT_TRUE(r.is_const());
  EXPECT_EQ(r.const_value(), static_cast<uint64_t>(-4));
  r = scalar_alu(BPF_ARSH, true, Scalar::constant(0x80000000u), Scalar::constant(31));
  EXPECT_TRUE(r.is_const());
  EXPECT_EQ(r.const_value(), 0xffffffffu); // 32-bit arsh, zero-extended
  // << 32 of a non-negative s32 keeps signed bounds
  r = scalar_alu(BPF_LSH, false, urange(1, 2), Scalar::constant(32));
  EXPECT_EQ(r.smin, 1ll << 32);
  EXPECT_EQ(r.smax, 2ll << 32);
  // ... and of a negative one too (the running kernel: s32 [-253, 2] << 32
  // gives smin=0xffffff0300000000,smax=0x200000000)
  r = scalar_alu(BPF_LSH, false, srange(-253, 2), Scalar::constant(32));
  EXPECT_EQ(r.smin, static_cast<int64_t>(0xffffff0300000000ull));
  EXPECT_EQ(r.smax, 0x200000000ll);
  // untracked: shift by a non-constant or too far, div, mod
  EXPECT_EQ(scalar_alu(BPF_LSH, false, urange(1, 2), urange(1, 2)), Scalar::unknown());
  EXPECT_EQ(scalar_alu(BPF_LSH, false, urange(1, 2), Scalar::constant(64)), Scalar::unknown());
  EXPECT_EQ(scalar_alu(BPF_RSH, true, urange(1, 2), Scalar::constant(32)), Scalar::unknown());
  EXPECT_EQ(scalar_alu(BPF_DIV, false, Scalar::constant(10), Scalar::constant(2)), Scalar::unknown());
  EXPECT_EQ(scalar_alu(BPF_MOD, true, Scalar::constant(10), Scalar::constant(3)), Scalar::unknown());
  EXPECT_EQ(scalar_alu(BPF_DIV, false, Scalar::constant(10), Scalar::constant(2), true), Scalar::unknown());
  // byte swaps move the known bits (the running 6.18 kernel's log:
  // "w0 &= 0x3f00; r0 = bswap16 r0" gives var_off=(0x0; 0x3f))
  r = scalar_alu(BPF_AND, true, Scalar::unknown(), Scalar::constant(0x3f00));
  r = scalar_alu(BPF_END, false, r, Scalar::constant(16));
  EXPECT_EQ(scalar_str(r), "smin=smin32=0,smax=umax=smax32=umax32=63,var_off=(0x0; 0x3f)");
  r = scalar_end(Scalar::constant(0x1122334455667788ull), 32, true);
  EXPECT_TRUE(r.is_const());
  EXPECT_EQ(r.const_value(), 0x88776655u);
  r = scalar_end(Scalar::constant(0x1122334455667788ull), 16, false); // le16: truncation only
  EXPECT_EQ(r.const_value(), 0x7788u);
  r = scalar_end(urange(0, 0x1ff), 64, false); // le64: nothing happens
  EXPECT_EQ(r, urange(0, 0x1ff));
  EXPECT_EQ(scalar_alu(BPF_END, false, urange(0, 3), urange(16, 32)), Scalar::unknown()); // size not constant
  // neg
  r = scalar_alu(BPF_NEG, false, urange(1, 5), Scalar::unknown());
  EXPECT_EQ(r.smin, -5);
  EXPECT_EQ(r.smax, -1);
  EXPECT_EQ(r.umin, static_cast<uint64_t>(-5));
  r = scalar_alu(BPF_NEG, true, Scalar::constant(1), Scalar::unknown());
  EXPECT_TRUE(r.is_const());
  EXPECT_EQ(r.const_value(), 0xffffffffu);
  // alu32 wraps in 32 bits and clears the upper half
  r = scalar_alu(BPF_ADD, true, Scalar::constant(0x1ffffffffull), Scalar::constant(1));
  EXPECT_TRUE(r.is_const());
  EXPECT_EQ(r.const_value(), 0u);
  r = scalar_alu(BPF_ADD, true, Scalar::unknown(), Scalar::constant(1));
  EXPECT_EQ(r.umax, UINT32_MAX);
  EXPECT_EQ(r.var_off, (Tnum{0, 0xffffffff}));
}

TEST(Scalar, ForkMinus1Or0) {
  // w9 s>>= 31 then w9 &= 0x60a9df2: the kernel's log shows 0x60a9df2 on
  // the current path and 0 on the pushed one ("from 4 to 4").
  Scalar w9 = scalar_alu(BPF_ARSH, true, Scalar::unknown(), Scalar::constant(31));
  EXPECT_EQ(scalar_str(w9), "smin=0,smax=umax=0xffffffff,smin32=-1,smax32=0,var_off=(0x0; 0xffffffff)");
  Scalar m1, z;
  ASSERT_TRUE(scalar_fork_minus1_or_0(w9, Scalar::constant(0x60a9df2), &m1, &z));
  EXPECT_EQ(scalar_str(scalar_alu(BPF_AND, true, m1, Scalar::constant(0x60a9df2))), "0x60a9df2");
  EXPECT_EQ(scalar_str(scalar_alu(BPF_AND, true, z, Scalar::constant(0x60a9df2))), "0");
  EXPECT_EQ(scalar_str(scalar_alu(BPF_OR, true, m1, Scalar::constant(0x60a9df2))), "0xffffffff");
  // s64 [-1, 0]
  Scalar r9 = scalar_alu(BPF_ARSH, false, Scalar::unknown(), Scalar::constant(63));
  ASSERT_TRUE(scalar_fork_minus1_or_0(r9, Scalar::constant(1), &m1, &z));
  EXPECT_FALSE(scalar_fork_minus1_or_0(r9, urange(0, 1), &m1, &z)); // src not constant
  EXPECT_EQ(m1, Scalar::constant(UINT64_MAX));
  EXPECT_EQ(z, Scalar::constant(0));
  m1 = z = Scalar::constant(7);
  EXPECT_FALSE(scalar_fork_minus1_or_0(srange(-1, 1), Scalar::constant(1), &m1, &z));
  EXPECT_EQ(m1, Scalar::constant(7));
}

TEST(Scalar, BranchTakenByHand) {
  EXPECT_EQ(scalar_branch_taken(BPF_JGT, false, urange(0, 10), Scalar::constant(10)), 0);
  EXPECT_EQ(scalar_branch_taken(BPF_JGT, false, urange(11, 20), Scalar::constant(10)), 1);
  EXPECT_EQ(scalar_branch_taken(BPF_JGT, false, urange(5, 15), Scalar::constant(10)), -1);
  EXPECT_EQ(scalar_branch_taken(BPF_JGE, false, urange(10, 15), Scalar::constant(10)), 1);
  EXPECT_EQ(scalar_branch_taken(BPF_JLT, false, urange(10, 15), Scalar::constant(10)), 0);
  EXPECT_EQ(scalar_branch_taken(BPF_JLE, false, urange(0, 10), urange(10, 20)), 1);
  EXPECT_EQ(scalar_branch_taken(BPF_JSLT, false, srange(-10, -1), Scalar::constant(0)), 1);
  EXPECT_EQ(scalar_branch_taken(BPF_JLT, false, srange(-10, -1), Scalar::constant(0)), 0);
  EXPECT_EQ(scalar_branch_taken(BPF_JSGT, false, srange(-10, 5), Scalar::constant(5)), 0);
  EXPECT_EQ(scalar_branch_taken(BPF_JSGE, false, srange(-10, 5), Scalar::constant(-10)), 1);
  EXPECT_EQ(scalar_branch_taken(BPF_JSLE, false, srange(-10, 5), Scalar::constant(-11)), 0);
  EXPECT_EQ(scalar_branch_taken(BPF_JEQ, false, Scalar::constant(3), Scalar::constant(3)), 1);
  EXPECT_EQ(scalar_branch_taken(BPF_JEQ, false, urange(0, 2), Scalar::constant(3)), 0);
  EXPECT_EQ(scalar_branch_taken(BPF_JNE, false, urange(0, 2), Scalar::constant(3)), 1);
  EXPECT_EQ(scalar_branch_taken(BPF_JNE, false, urange(0, 3), Scalar::constant(3)), -1);
  // JSET: a known 1 in the tested bits, or no possible 1 there
  Scalar t;
  t.var_off = Tnum{0x4, 0x3};
  t.sync();
  EXPECT_EQ(scalar_branch_taken(BPF_JSET, false, t, Scalar::constant(4)), 1);
  EXPECT_EQ(scalar_branch_taken(BPF_JSET, false, t, Scalar::constant(8)), 0);
  EXPECT_EQ(scalar_branch_taken(BPF_JSET, false, t, Scalar::constant(1)), -1);
  EXPECT_EQ(scalar_branch_taken(BPF_JSET, false, Scalar::constant(8), t), 0); // constant on the left
  EXPECT_EQ(scalar_branch_taken(BPF_JSET, false, t, urange(0, 8)), -1);       // neither constant
  // jmp32 looks at the low halves only
  Scalar big = Scalar::constant(0x100000005ull);
  EXPECT_EQ(scalar_branch_taken(BPF_JEQ, true, big, Scalar::constant(5)), 1);
  EXPECT_EQ(scalar_branch_taken(BPF_JEQ, false, big, Scalar::constant(5)), 0);
  EXPECT_EQ(scalar_branch_taken(BPF_JGT, true, urange(0x100000000ull, 0x100000009ull), Scalar::constant(9)), 0);
  // The known bits disagree: never equal (tnum_overlap; the kernel's log for
  // r3 = (r0 & 3) << 30, r4 = r3 + 1024, "if r4 != r3" predicts taken).
  Scalar r3 = scalar_alu(BPF_LSH, false, scalar_alu(BPF_AND, false, Scalar::unknown(), Scalar::constant(3)),
                         Scalar::constant(30));
  Scalar r4 = scalar_alu(BPF_ADD, false, r3, Scalar::constant(1024));
  EXPECT_EQ(scalar_str(r3), "smin=0,smax=umax=umax32=0xc0000000,smax32=0x40000000,var_off=(0x0; 0xc0000000)");
  EXPECT_EQ(scalar_str(r4), "smin=umin=umin32=1024,smax=umax=umax32=0xc0000400,smin32=0x80000400,"
                            "smax32=0x40000400,var_off=(0x400; 0xc0000000)");
  EXPECT_EQ(scalar_branch_taken(BPF_JNE, false, r4, r3), 1);
  EXPECT_EQ(scalar_branch_taken(BPF_JEQ, false, r4, r3), 0);
  // 64-bit inconclusive, the 32-bit halves are disjoint
  Scalar h;
  h.umin = 0;
  h.umax = 0x200000000ull;
  h.u32_min = 10;
  h.u32_max = 20;
  h.sync();
  EXPECT_EQ(scalar_branch_taken(BPF_JEQ, false, h, Scalar::constant(5)), 0);
}

TEST(Scalar, RefineByHand) {
  Scalar a = Scalar::unknown(), b = Scalar::constant(10);
  ASSERT_TRUE(scalar_refine(BPF_JGT, false, true, &a, &b));
  EXPECT_EQ(a.umin, 11u);
  a = Scalar::unknown();
  ASSERT_TRUE(scalar_refine(BPF_JGT, false, false, &a, &b));
  EXPECT_EQ(a.umax, 10u);
  EXPECT_EQ(a.smin, 0);
  EXPECT_EQ(a.var_off, (Tnum{0, 0xf}));
  // signed, 32-bit
  a = Scalar::unknown();
  ASSERT_TRUE(scalar_refine(BPF_JSLT, true, true, &a, &b));
  EXPECT_EQ(a.s32_max, 9);
  EXPECT_EQ(a.umax, UINT64_MAX); // the upper half is still anything
  // JEQ with a constant: the register becomes it
  a = Scalar::unknown();
  Scalar seven = Scalar::constant(7);
  ASSERT_TRUE(scalar_refine(BPF_JEQ, false, true, &a, &seven));
  EXPECT_TRUE(a.is_const());
  EXPECT_EQ(a.const_value(), 7u);
  a = Scalar::unknown();
  ASSERT_TRUE(scalar_refine(BPF_JNE, false, false, &a, &seven));
  EXPECT_TRUE(a.is_const());
  // JNE at an edge trims it
  a = urange(7, 10);
  ASSERT_TRUE(scalar_refine(BPF_JNE, false, true, &a, &seven));
  EXPECT_EQ(a.umin, 8u);
  EXPECT_EQ(a.umax, 10u);
  a = urange(7, 10);
  Scalar ten = Scalar::constant(10);
  ASSERT_TRUE(scalar_refine(BPF_JEQ, false, false, &ten, &a)); // constant on the left
  EXPECT_EQ(a.umax, 9u);
  // jmp32 JEQ: low half known, upper half still free
  a = Scalar::unknown();
  ASSERT_TRUE(scalar_refine(BPF_JEQ, true, true, &a, &seven));
  EXPECT_EQ(a.var_off, (Tnum{7, 0xffffffff00000000ull}));
  EXPECT_EQ(a.u32_min, 7u);
  // JSET with a single bit learns it; not-JSET clears the tested bits
  a = urange(0, 255);
  Scalar eight = Scalar::constant(8);
  ASSERT_TRUE(scalar_refine(BPF_JSET, false, true, &a, &eight));
  EXPECT_EQ(a.var_off, (Tnum{8, 0xf7}));
  EXPECT_EQ(a.umin, 8u);
  a = Scalar::unknown();
  Scalar ff = Scalar::constant(0xff);
  ASSERT_TRUE(scalar_refine(BPF_JSET, false, false, &a, &ff));
  EXPECT_EQ(a.var_off, (Tnum{0, ~0xffull}));
  a = urange(0, 255);
  ASSERT_TRUE(scalar_refine(BPF_JSET, false, true, &a, &ff)); // several bits: nothing learned
  EXPECT_EQ(a, urange(0, 255));
  // both registers non-constant
  a = urange(0, 100);
  b = urange(50, 60);
  ASSERT_TRUE(scalar_refine(BPF_JLT, false, true, &a, &b));
  EXPECT_EQ(a.umax, 59u);
  EXPECT_EQ(b.umin, 50u);
  a = urange(0, 100);
  b = urange(50, 60);
  ASSERT_TRUE(scalar_refine(BPF_JGT, false, true, &a, &b));
  EXPECT_EQ(a.umin, 51u);
  EXPECT_EQ(b.umax, 60u);
  a = urange(0, 100);
  b = urange(50, 60);
  ASSERT_TRUE(scalar_refine(BPF_JEQ, false, true, &a, &b));
  EXPECT_EQ(a.umin, 50u);
  EXPECT_EQ(a.umax, 60u);
  // decided branches: the live side untouched, the dead side impossible
  a = urange(0, 5);
  Scalar before = a;
  EXPECT_TRUE(scalar_refine(BPF_JLT, false, true, &a, &ten));
  EXPECT_EQ(a, before);
  EXPECT_FALSE(scalar_refine(BPF_JLT, false, false, &a, &ten));
  Scalar c5 = Scalar::constant(5), c6 = Scalar::constant(6);
  EXPECT_FALSE(scalar_refine(BPF_JEQ, false, true, &c5, &c6));
  EXPECT_TRUE(scalar_refine(BPF_JEQ, false, false, &c5, &c6));
  // Cases checked against the running kernel's log. The s32 range [-128,127]
  // wraps in u32; u32 >= 32767 meets only its negative piece:
  a = Scalar::unknown();
  a.s32_min = -128;
  a.s32_max = 127;
  a.sync();
  Scalar k = Scalar::constant(32767);
  ASSERT_TRUE(scalar_refine(BPF_JGE, true, true, &a, &k));
  EXPECT_EQ(a.s32_max, -1);
  EXPECT_EQ(a.u32_min, 0xffffff80u);
  // A u64 range holding a single member of the tnum makes a constant:
  // (0; 0x20) with umin 7 is 32.
  a = Scalar::unknown();
  a.var_off = Tnum{0, 0x20};
  a.sync();
  Scalar seven2 = Scalar::constant(7);
  ASSERT_TRUE(scalar_refine(BPF_JSGE, false, true, &a, &seven2));
  EXPECT_TRUE(a.is_const());
  EXPECT_EQ(a.const_value(), 32u);
  // one register against itself: nothing learned
  a = urange(0, 5);
  EXPECT_TRUE(scalar_refine(BPF_JSET, false, true, &a, &a));
  EXPECT_EQ(a, urange(0, 5));
}

TEST(Scalar, WithinAndStr) {
  EXPECT_TRUE(scalar_within(urange(0, 100), urange(10, 20)));
  EXPECT_FALSE(scalar_within(urange(10, 20), urange(0, 100)));
  EXPECT_TRUE(scalar_within(Scalar::unknown(), Scalar::constant(5)));
  Scalar even;
  even.var_off = Tnum{0, 0xfe};
  even.sync();
  EXPECT_FALSE(scalar_within(even, Scalar::constant(5))); // in range, not in tnum
  EXPECT_TRUE(scalar_within(even, Scalar::constant(6)));
  Scalar s32 = Scalar::unknown();
  s32.s32_min = 0;
  s32.sync();
  EXPECT_FALSE(scalar_within(s32, Scalar::constant(0x80000000u))); // 32-bit bound counts

  EXPECT_EQ(scalar_str(Scalar::constant(5)), "5");
  EXPECT_EQ(scalar_str(Scalar::constant(UINT64_MAX)), "-1");
  EXPECT_EQ(scalar_str(Scalar::constant(0x1000)), "4096");
  EXPECT_EQ(scalar_str(Scalar::constant(32767)), "32767");
  EXPECT_EQ(scalar_str(Scalar::constant(32768)), "0x8000");
  EXPECT_EQ(scalar_str(Scalar::constant(static_cast<uint64_t>(-32768))), "-32768");
  EXPECT_EQ(scalar_str(Scalar::constant(static_cast<uint64_t>(-1000))), "-1000");
  EXPECT_EQ(scalar_str(Scalar::constant(static_cast<uint64_t>(-40000))), "0xffffffffffff63c0");
  EXPECT_EQ(scalar_str(Scalar::unknown()), "");
  EXPECT_EQ(scalar_str(urange(0, 255)), "smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff)");
  EXPECT_EQ(scalar_str(srange(-5, 5)), "smin=smin32=-5,smax=smax32=5");
  // negative 32-bit values beyond S16_MIN print as u32 hex
  EXPECT_EQ(scalar_str(urange(0, 0x10000)),
            "smin=smin32=0,smax=umax=smax32=umax32=0x10000,var_off=(0x0; 0x1ffff)");
  Scalar n = Scalar::unknown();
  n.s32_min = -100000;
  n.s32_max = -1;
  n.sync();
  EXPECT_NE(scalar_str(n).find("smin32=umin32=0xfffe7960"), std::string::npos) << scalar_str(n);
  EXPECT_NE(scalar_str(n).find("smax32=-1"), std::string::npos) << scalar_str(n);
}

// ---------------------------------------------------------------- random soundness

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  uint64_t u64() { return g(); }
  uint64_t below(uint64_t n) { return n ? g() % n : 0; }
  bool coin() { return g() & 1; }
  uint64_t interesting() {
    static const uint64_t vals[] = {0,
                                    1,
                                    2,
                                    7,
                                    31,
                                    32,
                                    63,
                                    64,
                                    255,
                                    256,
                                    0x7fff,
                                    0x8000,
                                    0xffff,
                                    0x7fffffff,
                                    0x80000000,
                                    0xffffffff,
                                    0x100000000ull,
                                    0x17fffffffull,
                                    0x7fffffffffffffffull,
                                    0x8000000000000000ull,
                                    0xffffffff80000000ull,
                                    0xffffffff00000000ull,
                                    static_cast<uint64_t>(-2),
                                    static_cast<uint64_t>(-1)};
    uint64_t base = vals[below(sizeof vals / sizeof vals[0])];
    switch (below(4)) {
    case 0: return base;
    case 1: return base + below(16) - 8;
    case 2: return u64() >> below(64);
    default: return base ^ (1ull << below(64));
    }
  }
  uint64_t sparse_mask() { // a few unknown bits, sometimes a block
    if (coin()) return ((1ull << below(64)) - 1) << below(8);
    uint64_t m = 0;
    for (int i = 0, n = static_cast<int>(below(6)); i < n; i++) m |= 1ull << below(64);
    return m;
  }
};

// A raw (unsynced) scalar under random constraints.
Scalar raw_scalar(Rng &r) {
  Scalar s;
  switch (r.below(9)) {
  case 0: return Scalar::constant(r.interesting());
  case 1: return Scalar::constant(r.below(70)); // shift amounts, small numbers
  case 2: {
    uint64_t lo = r.interesting(), span = r.coin() ? r.below(300) : r.u64() >> r.below(64);
    uint64_t hi = lo + span < lo ? UINT64_MAX : lo + span;
    s.umin = lo;
    s.umax = hi;
    break;
  }
  case 3: {
    auto lo = static_cast<int64_t>(r.interesting());
    uint64_t span = r.coin() ? r.below(300) : r.u64() >> r.below(64);
    int64_t hi;
    if (__builtin_add_overflow(lo, static_cast<int64_t>(span >> 1), &hi)) hi = INT64_MAX;
    s.smin = lo;
    s.smax = hi;
    break;
  }
  case 4: {
    uint64_t m = r.sparse_mask();
    s.var_off = Tnum{r.interesting() & ~m, m};
    break;
  }
  case 5: {
    auto lo = static_cast<uint32_t>(r.interesting());
    uint32_t span = static_cast<uint32_t>(r.coin() ? r.below(300) : r.u64() >> r.below(64));
    uint32_t hi = lo + span < lo ? UINT32_MAX : lo + span;
    s.u32_min = lo;
    s.u32_max = hi;
    if (r.coin()) {
      s.umax = UINT32_MAX; // a zero-extended value
    }
    break;
  }
  case 6: {
    auto lo = static_cast<int32_t>(r.interesting());
    int32_t hi;
    if (__builtin_add_overflow(lo, static_cast<int32_t>(r.below(1000)), &hi)) hi = INT32_MAX;
    s.s32_min = lo;
    s.s32_max = hi;
    if (r.coin()) { // like a sign-extended s32
      s.smin = INT32_MIN;
      s.smax = INT32_MAX;
    }
    break;
  }
  case 7: { // range and tnum together
    uint64_t m = r.sparse_mask();
    s.var_off = Tnum{r.interesting() & ~m, m};
    uint64_t lo = s.var_off.value + r.below(64);
    s.umin = lo;
    s.umax = lo + r.below(1ull << 20);
    break;
  }
  default:
    break; // unknown
  }
  return s;
}

// Candidates that may belong to s; the caller filters with contains().
void candidates(Rng &r, const Scalar &s, std::vector<uint64_t> *out) {
  out->clear();
  uint64_t m = s.var_off.mask;
  auto in_tnum = [&](uint64_t x) { return s.var_off.value | (x & m); };
  uint64_t edges[] = {s.umin,
                      s.umax,
                      static_cast<uint64_t>(s.smin),
                      static_cast<uint64_t>(s.smax),
                      s.var_off.value,
                      s.var_off.value | m,
                      (s.umin & ~0xffffffffull) | s.u32_min,
                      (s.umin & ~0xffffffffull) | s.u32_max,
                      (s.umax & ~0xffffffffull) | s.u32_min,
                      (s.umax & ~0xffffffffull) | s.u32_max,
                      s.u32_min,
                      s.u32_max,
                      static_cast<uint64_t>(static_cast<int64_t>(s.s32_min)),
                      static_cast<uint64_t>(static_cast<int64_t>(s.s32_max))};
  for (uint64_t e : edges) {
    out->push_back(e);
    out->push_back(in_tnum(e));
  }
  for (int i = 0; i < 24; i++) {
    uint64_t span = s.umax - s.umin;
    uint64_t x = s.umin + (span == UINT64_MAX ? r.u64() : r.below(span + 1));
    switch (r.below(4)) {
    case 0: out->push_back(x); break;
    case 1: out->push_back(in_tnum(x)); break;
    case 2: out->push_back(in_tnum(r.u64())); break;
    default: {
      int64_t sspan = static_cast<int64_t>(static_cast<uint64_t>(s.smax) - static_cast<uint64_t>(s.smin));
      uint64_t y = static_cast<uint64_t>(s.smin) + (sspan < 0 ? r.u64() : r.below(static_cast<uint64_t>(sspan) + 1));
      out->push_back(in_tnum(y));
      break;
    }
    }
  }
}

// A synced scalar with some of its concrete members (never empty).
Scalar gen(Rng &r, std::vector<uint64_t> *members) {
  std::vector<uint64_t> cand;
  for (;;) {
    Scalar s = raw_scalar(r);
    s.sync();
    if (!s.consistent()) continue;
    candidates(r, s, &cand);
    members->clear();
    for (uint64_t x : cand)
      if (contains(s, x)) members->push_back(x);
    if (!members->empty()) return s;
  }
}

uint64_t seed() {
  const char *e = std::getenv("USERBPF_SCALAR_SEED");
  return e ? std::strtoull(e, nullptr, 0) : 0x5ca1a7ull;
}

TEST(ScalarSoundness, SyncKeepsEveryMember) {
  Rng r(seed());
  std::vector<uint64_t> cand;
  int checked = 0;
  for (int it = 0; it < 20000; it++) {
    Scalar raw = raw_scalar(r);
    candidates(r, raw, &cand);
    Scalar s = raw;
    s.sync();
    for (uint64_t x : cand) {
      if (!contains(raw, x)) continue;
      checked++;
      ASSERT_TRUE(contains(s, x)) << std::hex << x << " raw " << dump(raw) << " synced " << dump(s);
      ASSERT_TRUE(s.consistent()) << dump(s);
    }
  }
  EXPECT_GT(checked, 20000);
}

TEST(ScalarSoundness, TnumOps) {
  Rng r(seed() + 1);
  for (int it = 0; it < 20000; it++) {
    uint64_t ma = r.sparse_mask(), mb = r.sparse_mask();
    Tnum a{r.interesting() & ~ma, ma}, b{r.interesting() & ~mb, mb};
    uint64_t x = a.value | (r.u64() & ma), y = b.value | (r.u64() & mb);
    uint8_t sh = static_cast<uint8_t>(r.below(64));
    ASSERT_TRUE(tnum_has(tnum_add(a, b), x + y));
    ASSERT_TRUE(tnum_has(tnum_sub(a, b), x - y));
    ASSERT_TRUE(tnum_has(tnum_mul(a, b), x * y)) << tnum_str(a) << tnum_str(b);
    ASSERT_TRUE(tnum_has(tnum_neg(a), 0 - x));
    ASSERT_TRUE(tnum_has(tnum_and(a, b), x & y));
    ASSERT_TRUE(tnum_has(tnum_or(a, b), x | y));
    ASSERT_TRUE(tnum_has(tnum_xor(a, b), x ^ y));
    ASSERT_TRUE(tnum_has(tnum_union(a, b), x));
    ASSERT_TRUE(tnum_has(tnum_union(a, b), y));
    ASSERT_TRUE(tnum_has(tnum_lshift(a, sh), x << sh));
    ASSERT_TRUE(tnum_has(tnum_rshift(a, sh), x >> sh));
    ASSERT_TRUE(tnum_has(tnum_arshift(a, sh, 64), static_cast<uint64_t>(static_cast<int64_t>(x) >> sh)));
    ASSERT_TRUE(tnum_has(tnum_arshift(a, sh & 31, 32),
                         static_cast<uint32_t>(static_cast<int32_t>(static_cast<uint32_t>(x)) >> (sh & 31))));
    if (tnum_has(b, x)) {
      ASSERT_TRUE(tnum_has(tnum_intersect(a, b), x));
    }
    uint64_t lo = std::min(x, y), hi = std::max(x, y);
    ASSERT_TRUE(tnum_has(Tnum::range(lo, hi), lo + r.below(hi - lo + 1 ? hi - lo + 1 : UINT64_MAX)));
    for (uint8_t size : {1, 2, 4})
      ASSERT_TRUE(tnum_has(tnum_cast(a, size), x & ((1ull << (size * 8)) - 1)));
    ASSERT_TRUE(tnum_in(a, Tnum::constant(x)));
    ASSERT_TRUE(tnum_in(Tnum::unknown(), a));
  }
}

TEST(ScalarSoundness, Alu) {
  Rng r(seed() + 2);
  const uint8_t ops[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_MOD, BPF_AND, BPF_OR,
                         BPF_XOR, BPF_LSH, BPF_RSH, BPF_ARSH, BPF_NEG};
  std::vector<uint64_t> ma, mb;
  long checked = 0, tracked = 0;
  for (int it = 0; it < 1500; it++) {
    Scalar a = gen(r, &ma), b = gen(r, &mb);
    for (uint8_t op : ops)
      for (bool alu32 : {false, true})
        for (bool sdiv : {false, true}) {
          if (sdiv && op != BPF_DIV && op != BPF_MOD) continue;
          Scalar res = scalar_alu(op, alu32, a, b, sdiv);
          if (op == BPF_NEG) res = scalar_alu(op, alu32, a, Scalar::unknown());
          if (!(res == Scalar::unknown())) tracked++;
          ASSERT_TRUE(res.consistent()) << int(op) << " " << dump(a) << " " << dump(b) << " -> " << dump(res);
          for (uint64_t x : ma)
            for (uint64_t y : mb) {
              uint64_t z = concrete_alu(op, alu32, sdiv, x, y);
              checked++;
              ASSERT_TRUE(contains(res, z))
                  << "op " << int(op) << (alu32 ? " alu32 " : " alu64 ") << std::hex << x << " , " << y << " = " << z
                  << "\n a " << dump(a) << "\n b " << dump(b) << "\n r " << dump(res);
            }
        }
  }
  EXPECT_GT(checked, 100000);
  EXPECT_GT(tracked, 12000); // the test exercises tracked results, not only "unknown"
}

TEST(ScalarSoundness, ByteSwap) {
  Rng r(seed() + 6);
  std::vector<uint64_t> ma;
  for (int it = 0; it < 5000; it++) {
    Scalar a = gen(r, &ma);
    for (int size : {16, 32, 64})
      for (bool swap : {false, true}) {
        Scalar res = scalar_end(a, size, swap);
        ASSERT_TRUE(res.consistent()) << dump(res);
        for (uint64_t x : ma) {
          uint64_t z = size == 16   ? (swap ? __builtin_bswap16(static_cast<uint16_t>(x)) : static_cast<uint16_t>(x))
                       : size == 32 ? (swap ? __builtin_bswap32(static_cast<uint32_t>(x)) : static_cast<uint32_t>(x))
                                    : (swap ? __builtin_bswap64(x) : x);
          ASSERT_TRUE(contains(res, z)) << size << " " << swap << " " << std::hex << x << " " << dump(a) << " -> "
                                        << dump(res);
        }
      }
  }
}

TEST(ScalarSoundness, ExtendAndTruncate) {
  Rng r(seed() + 3);
  std::vector<uint64_t> ma;
  for (int it = 0; it < 5000; it++) {
    Scalar a = gen(r, &ma);
    for (int size : {1, 2, 4}) {
      Scalar t = a, s64 = a, s32 = a;
      t.truncate(size);
      s64.sign_extend64(size);
      if (size < 4) s32.sign_extend32(size);
      uint64_t keep = (1ull << (size * 8)) - 1;
      for (uint64_t x : ma) {
        ASSERT_TRUE(contains(t, x & keep)) << size << " " << std::hex << x << " " << dump(a) << " -> " << dump(t);
        uint64_t sx = size == 1 ? static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(x)))
                      : size == 2 ? static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(x)))
                                  : static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(x)));
        ASSERT_TRUE(contains(s64, sx)) << size << " " << std::hex << x << " " << dump(a) << " -> " << dump(s64);
        if (size < 4) {
          ASSERT_TRUE(contains(s32, static_cast<uint32_t>(sx)))
              << size << " " << std::hex << x << " " << dump(a) << " -> " << dump(s32);
        }
      }
    }
  }
}

TEST(ScalarSoundness, BranchesAndRefinement) {
  Rng r(seed() + 4);
  const uint8_t ops[] = {BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE,
                         BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET};
  std::vector<uint64_t> ma, mb;
  long checked = 0, decided = 0, refined = 0;
  for (int it = 0; it < 1500; it++) {
    Scalar a = gen(r, &ma), b;
    // Often compare against a member-derived constant, as programs do.
    if (r.coin()) {
      b = gen(r, &mb);
    } else {
      uint64_t c = ma[r.below(ma.size())] + r.below(3) - 1;
      b = Scalar::constant(c);
      mb.assign(1, c);
    }
    for (uint8_t op : ops)
      for (bool jmp32 : {false, true}) {
        int bt = scalar_branch_taken(op, jmp32, a, b);
        if (bt >= 0) decided++;
        Scalar at = a, bt_ = b, af = a, bf = b;
        bool ok_t = scalar_refine(op, jmp32, true, &at, &bt_);
        bool ok_f = scalar_refine(op, jmp32, false, &af, &bf);
        if (ok_t && !(at == a && bt_ == b)) refined++;
        for (uint64_t x : ma)
          for (uint64_t y : mb) {
            bool c = concrete_cond(op, jmp32, x, y);
            checked++;
            if (bt >= 0) {
              ASSERT_EQ(bt, c ? 1 : 0) << "op " << int(op) << (jmp32 ? " jmp32 " : " ") << std::hex << x << " , " << y
                                       << "\n a " << dump(a) << "\n b " << dump(b);
            }
            const Scalar &ra = c ? at : af, &rb = c ? bt_ : bf;
            ASSERT_TRUE(c ? ok_t : ok_f) << "side " << c << " op " << int(op) << (jmp32 ? " jmp32 " : " ") << std::hex
                                         << x << " , " << y << "\n a " << dump(a) << "\n b " << dump(b);
            ASSERT_TRUE(contains(ra, x) && contains(rb, y))
                << "side " << c << " op " << int(op) << (jmp32 ? " jmp32 " : " ") << std::hex << x << " , " << y
                << "\n a " << dump(a) << " -> " << dump(ra) << "\n b " << dump(b) << " -> " << dump(rb);
          }
      }
  }
  EXPECT_GT(checked, 100000);
  EXPECT_GT(decided, 2000);
  EXPECT_GT(refined, 5000);
}

TEST(ScalarSoundness, WithinMeansSubset) {
  Rng r(seed() + 5);
  std::vector<uint64_t> ma, mb;
  int within = 0;
  for (int it = 0; it < 20000; it++) {
    Scalar old = gen(r, &ma), cur = gen(r, &mb);
    ASSERT_TRUE(scalar_within(old, old));
    if (r.coin()) { // a narrowed copy of old: often within
      cur = old;
      Scalar c = Scalar::constant(ma[r.below(ma.size())]);
      scalar_refine(BPF_JGE, false, true, &cur, &c);
      mb.clear();
      for (uint64_t x : ma)
        if (contains(cur, x)) mb.push_back(x);
    }
    if (!scalar_within(old, cur)) continue;
    within++;
    for (uint64_t x : mb) ASSERT_TRUE(contains(old, x)) << dump(old) << " " << dump(cur);
  }
  EXPECT_GT(within, 5000);
}

} // namespace
