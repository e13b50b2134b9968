// The verifier's scalar domain: tnum plus 64/32-bit signed/unsigned bounds.
// Semantics follow kernel/bpf/verifier.c of Linux 6.18 (reg_bounds_sync,
// adjust_scalar_min_max_vals, is_scalar_branch_taken, regs_refine_cond_op,
// coerce_reg_to_size[_sx], range_within) and print_scalar_ranges in
// kernel/bpf/log.c. Written from those descriptions, not copied.
#include "verifier/scalar.h"

#include <linux/bpf.h>

#include <algorithm>
#include <cstdio>

namespace userbpf::verifier {

namespace {

using u64 = uint64_t;
using s64 = int64_t;
using u32 = uint32_t;
using s32 = int32_t;

// ---------------------------------------------------------------- helpers

void set_known(Scalar &r, u64 v) { // ___mark_reg_known
  r.var_off = Tnum::constant(v);
  r.smin = r.smax = static_cast<s64>(v);
  r.umin = r.umax = v;
  r.s32_min = r.s32_max = static_cast<s32>(static_cast<u32>(v));
  r.u32_min = r.u32_max = static_cast<u32>(v);
}

void set_known32(Scalar &r, u32 v) { // __mark_reg32_known
  r.var_off = tnum_const_subreg(r.var_off, v);
  r.s32_min = r.s32_max = static_cast<s32>(v);
  r.u32_min = r.u32_max = v;
}

void unbound64(Scalar &r) {
  r.smin = INT64_MIN;
  r.smax = INT64_MAX;
  r.umin = 0;
  r.umax = UINT64_MAX;
}

void unbound32(Scalar &r) {
  r.s32_min = INT32_MIN;
  r.s32_max = INT32_MAX;
  r.u32_min = 0;
  r.u32_max = UINT32_MAX;
}

// Bounds implied by the tnum (__update_reg32_bounds / __update_reg64_bounds).
void update_bounds32(Scalar &r) {
  Tnum t = tnum_subreg(r.var_off);
  u32 v = static_cast<u32>(t.value), m = static_cast<u32>(t.mask);
  r.s32_min = std::max(r.s32_min, static_cast<s32>(v | (m & 0x80000000u)));
  r.s32_max = std::min(r.s32_max, static_cast<s32>(v | (m & 0x7fffffffu)));
  r.u32_min = std::max(r.u32_min, v);
  r.u32_max = std::min(r.u32_max, v | m);
}

// The smallest member of t above z (t's largest member if none is, t's
// smallest if z is below it): the kernel's tnum_step.
u64 tnum_next_above(Tnum t, u64 z) {
  u64 tmax = t.value | t.mask;
  if (z >= tmax) return tmax;
  if (z < t.value) return t.value;
  // Keep z's bits above some position i (they must agree with t's known
  // bits), put a 1 at i where z has 0 and t allows 1, and t's smallest
  // pattern below i; the lowest such i gives the smallest result.
  u64 allowed = t.value | t.mask;
  for (int i = 0; i < 64; i++) {
    u64 bit = 1ull << i;
    if ((z & bit) || !(allowed & bit)) continue;
    u64 above = i == 63 ? 0 : ~((bit << 1) - 1);
    if (((z ^ t.value) & ~t.mask & above) != 0) continue;
    return (z & above) | bit | (t.value & (bit - 1));
  }
  return tmax; // not reached for t.value <= z < tmax
}

void update_bounds64(Scalar &r) {
  u64 v = r.var_off.value, m = r.var_off.mask;
  r.smin = std::max(r.smin, static_cast<s64>(v | (m & (1ull << 63))));
  r.smax = std::min(r.smax, static_cast<s64>(v | (m & ~(1ull << 63))));
  r.umin = std::max(r.umin, v);
  r.umax = std::min(r.umax, v | m);
  // When the u64 range and the tnum share a single value, the scalar is that
  // constant (the running 6.18 kernel; only the u64 bounds are asked).
  u64 next = tnum_next_above(r.var_off, r.umin);
  bool umin_member = (r.umin & ~m) == v;
  u64 tmax = v | m;
  if (umin_member && next > r.umax)
    set_known(r, r.umin);
  else if (!umin_member && next == tmax)
    set_known(r, tmax);
  else if (!umin_member && next <= r.umax && tnum_next_above(r.var_off, next) > r.umax)
    set_known(r, next);
}

void update_bounds(Scalar &r) {
  update_bounds32(r);
  update_bounds64(r);
}

// 32-bit bounds from each other and from the 64-bit ones.
void deduce32(Scalar &r) {
  // Upper halves equal over the whole u64 range: the low halves form a range.
  if ((r.umin >> 32) == (r.umax >> 32)) {
    r.u32_min = std::max(r.u32_min, static_cast<u32>(r.umin));
    r.u32_max = std::min(r.u32_max, static_cast<u32>(r.umax));
    if (static_cast<s32>(r.umin) <= static_cast<s32>(r.umax)) {
      r.s32_min = std::max(r.s32_min, static_cast<s32>(r.umin));
      r.s32_max = std::min(r.s32_max, static_cast<s32>(r.umax));
    }
  }
  if ((r.smin >> 32) == (r.smax >> 32)) {
    if (static_cast<u32>(r.smin) <= static_cast<u32>(r.smax)) {
      r.u32_min = std::max(r.u32_min, static_cast<u32>(r.smin));
      r.u32_max = std::min(r.u32_max, static_cast<u32>(r.smax));
    }
    if (static_cast<s32>(r.smin) <= static_cast<s32>(r.smax)) {
      r.s32_min = std::max(r.s32_min, static_cast<s32>(r.smin));
      r.s32_max = std::min(r.s32_max, static_cast<s32>(r.smax));
    }
  }
  // Upper halves take two consecutive values while the low half goes from
  // negative to non-negative: still one s32 range.
  if (static_cast<u32>(r.umin >> 32) + 1 == static_cast<u32>(r.umax >> 32) && static_cast<s32>(r.umin) < 0 &&
      static_cast<s32>(r.umax) >= 0) {
    r.s32_min = std::max(r.s32_min, static_cast<s32>(r.umin));
    r.s32_max = std::min(r.s32_max, static_cast<s32>(r.umax));
  }
  if (static_cast<u32>(static_cast<u64>(r.smin) >> 32) + 1 == static_cast<u32>(static_cast<u64>(r.smax) >> 32) &&
      static_cast<s32>(r.smin) < 0 && static_cast<s32>(r.smax) >= 0) {
    r.s32_min = std::max(r.s32_min, static_cast<s32>(r.smin));
    r.s32_max = std::min(r.s32_max, static_cast<s32>(r.smax));
  }
  // u32 range on one side of the sign boundary: it is also an s32 range.
  if (static_cast<s32>(r.u32_min) <= static_cast<s32>(r.u32_max)) {
    r.s32_min = std::max(r.s32_min, static_cast<s32>(r.u32_min));
    r.s32_max = std::min(r.s32_max, static_cast<s32>(r.u32_max));
  }
  // And the reverse.
  if (static_cast<u32>(r.s32_min) <= static_cast<u32>(r.s32_max)) {
    r.u32_min = std::max(r.u32_min, static_cast<u32>(r.s32_min));
    r.u32_max = std::min(r.u32_max, static_cast<u32>(r.s32_max));
  } else {
    // The s32 range wraps through the sign boundary; as for 64 bits, a u32
    // range meeting only one of its two pieces narrows both (what the
    // running 6.18 kernel does).
    if (r.u32_max < static_cast<u32>(r.s32_min)) {
      r.s32_min = static_cast<s32>(r.u32_min);
      r.u32_max = std::min(r.u32_max, static_cast<u32>(r.s32_max));
    } else if (static_cast<u32>(r.s32_max) < r.u32_min) {
      r.s32_max = static_cast<s32>(r.u32_max);
      r.u32_min = std::max(r.u32_min, static_cast<u32>(r.s32_min));
    }
  }
}

void deduce64(Scalar &r) {
  if (static_cast<s64>(r.umin) <= static_cast<s64>(r.umax)) {
    r.smin = std::max(r.smin, static_cast<s64>(r.umin));
    r.smax = std::min(r.smax, static_cast<s64>(r.umax));
  }
  if (static_cast<u64>(r.smin) <= static_cast<u64>(r.smax)) {
    r.umin = std::max(r.umin, static_cast<u64>(r.smin));
    r.umax = std::min(r.umax, static_cast<u64>(r.smax));
  } else {
    // The s64 range wraps through the sign boundary, i.e. is two pieces of
    // the u64 line; if the u64 range meets only one piece, both shrink.
    if (r.umax < static_cast<u64>(r.smin)) {
      r.smin = static_cast<s64>(r.umin);
      r.umax = std::min(r.umax, static_cast<u64>(r.smax));
    } else if (static_cast<u64>(r.smax) < r.umin) {
      r.smax = static_cast<s64>(r.umax);
      r.umin = std::max(r.umin, static_cast<u64>(r.smin));
    }
  }
}

void deduce_mixed(Scalar &r) {
  // Put the 32-bit bounds into the low halves of the 64-bit ones.
  u64 new_umin = (r.umin & ~0xffffffffull) | r.u32_min;
  u64 new_umax = (r.umax & ~0xffffffffull) | r.u32_max;
  r.umin = std::max(r.umin, new_umin);
  r.umax = std::min(r.umax, new_umax);
  s64 new_smin = static_cast<s64>((static_cast<u64>(r.smin) & ~0xffffffffull) | r.u32_min);
  s64 new_smax = static_cast<s64>((static_cast<u64>(r.smax) & ~0xffffffffull) | r.u32_max);
  r.smin = std::max(r.smin, new_smin);
  r.smax = std::min(r.smax, new_smax);
  // A 64-bit value within [S32_MIN, S32_MAX] whose low half is a
  // non-negative s32 must be that non-negative number.
  if (r.s32_min >= 0 && r.smin >= INT32_MIN && r.smax <= INT32_MAX) {
    r.smin = r.s32_min;
    r.smax = r.s32_max;
    r.umin = static_cast<u64>(r.s32_min);
    r.umax = static_cast<u64>(r.s32_max);
    r.var_off = tnum_intersect(r.var_off, Tnum::range(static_cast<u64>(r.smin), static_cast<u64>(r.smax)));
  }
}

void deduce(Scalar &r) {
  deduce32(r);
  deduce64(r);
  deduce_mixed(r);
}

void bound_offset(Scalar &r) { // __reg_bound_offset
  Tnum t64 = tnum_intersect(r.var_off, Tnum::range(r.umin, r.umax));
  Tnum t32 = tnum_intersect(tnum_subreg(t64), Tnum::range(r.u32_min, r.u32_max));
  r.var_off = tnum_or(tnum_clear_subreg(t64), t32);
}

// ---------------------------------------------------------------- ALU

// 1 if the operation overflowed. int, not bool: callers combine them with
// `|` on purpose, so that every operand is computed (no short circuit).
template <typename T> int add_ovf(T a, T b, T *out) { return __builtin_add_overflow(a, b, out) ? 1 : 0; }
template <typename T> int sub_ovf(T a, T b, T *out) { return __builtin_sub_overflow(a, b, out) ? 1 : 0; }
template <typename T> int mul_ovf(T a, T b, T *out) { return __builtin_mul_overflow(a, b, out) ? 1 : 0; }

void add32(Scalar &d, const Scalar &s) {
  if (add_ovf(d.s32_min, s.s32_min, &d.s32_min) | add_ovf(d.s32_max, s.s32_max, &d.s32_max)) {
    d.s32_min = INT32_MIN;
    d.s32_max = INT32_MAX;
  }
  // All sums wrap or none do: the bounds stay ordered; only some: unknown.
  bool lo = add_ovf(d.u32_min, s.u32_min, &d.u32_min);
  bool hi = add_ovf(d.u32_max, s.u32_max, &d.u32_max);
  if (!lo && hi) {
    d.u32_min = 0;
    d.u32_max = UINT32_MAX;
  }
}

void add64(Scalar &d, const Scalar &s) {
  if (add_ovf(d.smin, s.smin, &d.smin) | add_ovf(d.smax, s.smax, &d.smax)) {
    d.smin = INT64_MIN;
    d.smax = INT64_MAX;
  }
  bool lo = add_ovf(d.umin, s.umin, &d.umin);
  bool hi = add_ovf(d.umax, s.umax, &d.umax);
  if (!lo && hi) {
    d.umin = 0;
    d.umax = UINT64_MAX;
  }
}

void sub32(Scalar &d, const Scalar &s) {
  if (sub_ovf(d.s32_min, s.s32_max, &d.s32_min) | sub_ovf(d.s32_max, s.s32_min, &d.s32_max)) {
    d.s32_min = INT32_MIN;
    d.s32_max = INT32_MAX;
  }
  bool lo = sub_ovf(d.u32_min, s.u32_max, &d.u32_min);
  bool hi = sub_ovf(d.u32_max, s.u32_min, &d.u32_max);
  if (lo && !hi) {
    d.u32_min = 0;
    d.u32_max = UINT32_MAX;
  }
}

void sub64(Scalar &d, const Scalar &s) {
  if (sub_ovf(d.smin, s.smax, &d.smin) | sub_ovf(d.smax, s.smin, &d.smax)) {
    d.smin = INT64_MIN;
    d.smax = INT64_MAX;
  }
  bool lo = sub_ovf(d.umin, s.umax, &d.umin);
  bool hi = sub_ovf(d.umax, s.umin, &d.umax);
  if (lo && !hi) {
    d.umin = 0;
    d.umax = UINT64_MAX;
  }
}

template <typename S, typename U>
void mul_bounds(S &smin, S &smax, U &umin, U &umax, S ssmin, S ssmax, U sumin, U sumax, S s_lo, S s_hi, U u_hi) {
  if (mul_ovf(umax, sumax, &umax) | mul_ovf(umin, sumin, &umin)) {
    umin = 0;
    umax = u_hi;
  }
  S p[4];
  if (mul_ovf(smin, ssmin, &p[0]) | mul_ovf(smin, ssmax, &p[1]) | mul_ovf(smax, ssmin, &p[2]) |
      mul_ovf(smax, ssmax, &p[3])) {
    smin = s_lo;
    smax = s_hi;
  } else {
    smin = *std::min_element(p, p + 4);
    smax = *std::max_element(p, p + 4);
  }
}

void mul32(Scalar &d, const Scalar &s) {
  mul_bounds<s32, u32>(d.s32_min, d.s32_max, d.u32_min, d.u32_max, s.s32_min, s.s32_max, s.u32_min, s.u32_max,
                       INT32_MIN, INT32_MAX, UINT32_MAX);
}

void mul64(Scalar &d, const Scalar &s) {
  mul_bounds<s64, u64>(d.smin, d.smax, d.umin, d.umax, s.smin, s.smax, s.umin, s.umax, INT64_MIN, INT64_MAX,
                       UINT64_MAX);
}

// s32 bounds from u32 ones when the u32 range does not cross the sign bit.
void s32_from_u32(Scalar &d) {
  if (static_cast<s32>(d.u32_min) <= static_cast<s32>(d.u32_max)) {
    d.s32_min = static_cast<s32>(d.u32_min);
    d.s32_max = static_cast<s32>(d.u32_max);
  } else {
    d.s32_min = INT32_MIN;
    d.s32_max = INT32_MAX;
  }
}

void s64_from_u64(Scalar &d) {
  if (static_cast<s64>(d.umin) <= static_cast<s64>(d.umax)) {
    d.smin = static_cast<s64>(d.umin);
    d.smax = static_cast<s64>(d.umax);
  } else {
    d.smin = INT64_MIN;
    d.smax = INT64_MAX;
  }
}

// Bitwise ops: d.var_off already holds the result's tnum.
void bitwise32(uint8_t op, Scalar &d, const Scalar &s) {
  Tnum t = tnum_subreg(d.var_off);
  bool both_known = (s.var_off.mask & 0xffffffffull) == 0 && (d.var_off.mask & 0xffffffffull) == 0;
  if (both_known) {
    set_known32(d, static_cast<u32>(t.value));
    return;
  }
  if (op == BPF_AND) { // min from the known bits, max no larger than either
    d.u32_min = static_cast<u32>(t.value);
    d.u32_max = std::min(d.u32_max, s.u32_max);
  } else if (op == BPF_OR) {
    d.u32_min = std::max(d.u32_min, s.u32_min);
    d.u32_max = static_cast<u32>(t.value | t.mask);
  } else { // XOR
    d.u32_min = static_cast<u32>(t.value);
    d.u32_max = static_cast<u32>(t.value | t.mask);
  }
  s32_from_u32(d);
}

void bitwise64(uint8_t op, Scalar &d, const Scalar &s) {
  if (s.var_off.is_const() && d.var_off.is_const()) {
    set_known(d, d.var_off.value);
    return;
  }
  Tnum t = d.var_off;
  if (op == BPF_AND) {
    d.umin = t.value;
    d.umax = std::min(d.umax, s.umax);
  } else if (op == BPF_OR) {
    d.umin = std::max(d.umin, s.umin);
    d.umax = t.value | t.mask;
  } else {
    d.umin = t.value;
    d.umax = t.value | t.mask;
  }
  s64_from_u64(d);
  update_bounds(d);
}

void lsh32_bounds(Scalar &d, u64 umin_val, u64 umax_val) {
  d.s32_min = INT32_MIN;
  d.s32_max = INT32_MAX;
  if (umax_val > 31 || d.u32_max > (1ull << (31 - umax_val))) { // top bit may go out
    d.u32_min = 0;
    d.u32_max = UINT32_MAX;
  } else {
    d.u32_min <<= umin_val;
    d.u32_max <<= umax_val;
  }
}

void lsh64_bounds(Scalar &d, u64 umin_val, u64 umax_val) {
  // << 32 (the sign-extension idiom's first half) turns the s32 range into
  // the s64 range of the result, whatever the signs (as the running kernel).
  bool by32 = umin_val == 32 && umax_val == 32;
  d.smax = by32 ? static_cast<s64>(static_cast<u64>(static_cast<s64>(d.s32_max)) << 32) : INT64_MAX;
  d.smin = by32 ? static_cast<s64>(static_cast<u64>(static_cast<s64>(d.s32_min)) << 32) : INT64_MIN;
  if (umax_val > 63 || d.umax > (1ull << (63 - umax_val))) {
    d.umin = 0;
    d.umax = UINT64_MAX;
  } else {
    d.umin <<= umin_val;
    d.umax <<= umax_val;
  }
}

void shift32(uint8_t op, Scalar &d, const Scalar &s) {
  u32 lo = s.u32_min, hi = s.u32_max;
  Tnum sub = tnum_subreg(d.var_off);
  if (op == BPF_LSH) {
    lsh32_bounds(d, lo, hi);
    d.var_off = tnum_subreg(tnum_lshift(sub, static_cast<uint8_t>(lo)));
  } else if (op == BPF_RSH) {
    d.s32_min = INT32_MIN;
    d.s32_max = INT32_MAX;
    d.var_off = tnum_rshift(sub, static_cast<uint8_t>(lo));
    d.u32_min >>= hi;
    d.u32_max >>= lo;
  } else { // ARSH; the amount is a constant here
    d.s32_min = d.s32_min >> lo;
    d.s32_max = d.s32_max >> lo;
    d.var_off = tnum_arshift(sub, static_cast<uint8_t>(lo), 32);
    d.u32_min = 0;
    d.u32_max = UINT32_MAX;
  }
  unbound64(d);
  update_bounds32(d);
}

void shift64(uint8_t op, Scalar &d, const Scalar &s) {
  u64 lo = s.umin, hi = s.umax;
  if (op == BPF_LSH) {
    lsh64_bounds(d, lo, hi); // uses the unshifted 32-bit bounds: first
    lsh32_bounds(d, lo, hi);
    d.var_off = tnum_lshift(d.var_off, static_cast<uint8_t>(lo));
  } else if (op == BPF_RSH) {
    d.smin = INT64_MIN;
    d.smax = INT64_MAX;
    d.var_off = tnum_rshift(d.var_off, static_cast<uint8_t>(lo));
    d.umin >>= hi;
    d.umax >>= lo;
    unbound32(d);
  } else {
    d.smin = d.smin >> lo;
    d.smax = d.smax >> lo;
    d.var_off = tnum_arshift(d.var_off, static_cast<uint8_t>(lo), 64);
    d.umin = 0;
    d.umax = UINT64_MAX;
    unbound32(d);
  }
  update_bounds(d);
}

// is_safe_to_compute_dst_reg_range: which results the kernel tracks at all.
bool tracked(uint8_t op, bool alu32, const Scalar &src) {
  switch (op) {
  case BPF_ADD:
  case BPF_SUB:
  case BPF_NEG:
  case BPF_AND:
  case BPF_OR:
  case BPF_XOR:
  case BPF_MUL:
  case BPF_END:
    return true;
  case BPF_LSH:
  case BPF_RSH:
  case BPF_ARSH: {
    bool src_const = alu32 ? (src.is_const32() && src.s32_min == src.s32_max && src.u32_min == src.u32_max)
                           : (src.is_const() && src.smin == src.smax && src.umin == src.umax);
    // The kernel compares the 64-bit umax with the width even for alu32.
    return src_const && src.umax < (alu32 ? 32u : 64u);
  }
  default:
    return false; // DIV, MOD (signed or not), anything else
  }
}

// ---------------------------------------------------------------- branches

uint8_t flip(uint8_t op) { // a op b  <=>  b flip(op) a
  switch (op) {
  case BPF_JGT: return BPF_JLT;
  case BPF_JLT: return BPF_JGT;
  case BPF_JGE: return BPF_JLE;
  case BPF_JLE: return BPF_JGE;
  case BPF_JSGT: return BPF_JSLT;
  case BPF_JSLT: return BPF_JSGT;
  case BPF_JSGE: return BPF_JSLE;
  case BPF_JSLE: return BPF_JSGE;
  default: return op;
  }
}

constexpr uint8_t kJsetFalse = BPF_JSET | BPF_X; // "not (a & b)", as rev_opcode

uint8_t negate(uint8_t op) { // !(a op b)  <=>  a negate(op) b
  switch (op) {
  case BPF_JEQ: return BPF_JNE;
  case BPF_JNE: return BPF_JEQ;
  case BPF_JGT: return BPF_JLE;
  case BPF_JLE: return BPF_JGT;
  case BPF_JGE: return BPF_JLT;
  case BPF_JLT: return BPF_JGE;
  case BPF_JSGT: return BPF_JSLE;
  case BPF_JSLE: return BPF_JSGT;
  case BPF_JSGE: return BPF_JSLT;
  case BPF_JSLT: return BPF_JSGE;
  case BPF_JSET: return kJsetFalse;
  default: return op;
  }
}

// is_reg_const: the compared width of the register is one known value.
bool reg_const(const Scalar &r, bool jmp32) { return jmp32 ? r.is_const32() : r.is_const(); }
u64 reg_const_value(const Scalar &r, bool jmp32) {
  return jmp32 ? static_cast<u32>(r.var_off.value) : r.var_off.value;
}

// regs_refine_cond_op: narrow r1 and r2 assuming `r1 op r2` holds.
void refine(Scalar *r1, Scalar *r2, uint8_t op, bool jmp32) {
  switch (op) {
  case BPF_JGE:
  case BPF_JGT:
  case BPF_JSGE:
  case BPF_JSGT:
    op = flip(op);
    std::swap(r1, r2);
    break;
  default:
    break;
  }
  switch (op) {
  case BPF_JEQ:
    if (jmp32) {
      r1->u32_min = std::max(r1->u32_min, r2->u32_min);
      r1->u32_max = std::min(r1->u32_max, r2->u32_max);
      r1->s32_min = std::max(r1->s32_min, r2->s32_min);
      r1->s32_max = std::min(r1->s32_max, r2->s32_max);
      r2->u32_min = r1->u32_min;
      r2->u32_max = r1->u32_max;
      r2->s32_min = r1->s32_min;
      r2->s32_max = r1->s32_max;
      Tnum t = tnum_intersect(tnum_subreg(r1->var_off), tnum_subreg(r2->var_off));
      r1->var_off = tnum_with_subreg(r1->var_off, t);
      r2->var_off = tnum_with_subreg(r2->var_off, t);
    } else {
      r1->umin = std::max(r1->umin, r2->umin);
      r1->umax = std::min(r1->umax, r2->umax);
      r1->smin = std::max(r1->smin, r2->smin);
      r1->smax = std::min(r1->smax, r2->smax);
      r2->umin = r1->umin;
      r2->umax = r1->umax;
      r2->smin = r1->smin;
      r2->smax = r1->smax;
      r1->var_off = tnum_intersect(r1->var_off, r2->var_off);
      r2->var_off = r1->var_off;
    }
    break;
  case BPF_JNE: {
    if (!reg_const(*r2, jmp32)) std::swap(r1, r2);
    if (!reg_const(*r2, jmp32)) break;
    // A constant at an edge of the other range cuts that edge off.
    u64 v = reg_const_value(*r2, jmp32);
    if (jmp32) {
      if (r1->u32_min == static_cast<u32>(v)) r1->u32_min++;
      if (r1->u32_max == static_cast<u32>(v)) r1->u32_max--;
      if (r1->s32_min == static_cast<s32>(v)) r1->s32_min++;
      if (r1->s32_max == static_cast<s32>(v)) r1->s32_max--;
    } else {
      if (r1->umin == v) r1->umin++;
      if (r1->umax == v) r1->umax--;
      if (r1->smin == static_cast<s64>(v)) r1->smin++;
      if (r1->smax == static_cast<s64>(v)) r1->smax--;
    }
    break;
  }
  case BPF_JSET: {
    if (!reg_const(*r2, jmp32)) std::swap(r1, r2);
    if (!reg_const(*r2, jmp32)) break;
    u64 v = reg_const_value(*r2, jmp32);
    // Only a single tested bit tells which bit is set.
    if (v == 0 || (v & (v - 1)) != 0) break;
    if (jmp32)
      r1->var_off = tnum_with_subreg(r1->var_off, tnum_or(tnum_subreg(r1->var_off), Tnum::constant(v)));
    else
      r1->var_off = tnum_or(r1->var_off, Tnum::constant(v));
    break;
  }
  case kJsetFalse: {
    if (!reg_const(*r2, jmp32)) std::swap(r1, r2);
    if (!reg_const(*r2, jmp32)) break;
    u64 v = reg_const_value(*r2, jmp32);
    // Forget the ranges before clearing the bits (6.18): they are
    // re-derived from the tnum by the sync that follows.
    unbound64(*r1);
    unbound32(*r1);
    if (jmp32)
      r1->var_off = tnum_with_subreg(r1->var_off, tnum_and(tnum_subreg(r1->var_off), Tnum::constant(~v)));
    else
      r1->var_off = tnum_and(r1->var_off, Tnum::constant(~v));
    break;
  }
  case BPF_JLE:
    if (jmp32) {
      r1->u32_max = std::min(r1->u32_max, r2->u32_max);
      r2->u32_min = std::max(r1->u32_min, r2->u32_min);
    } else {
      r1->umax = std::min(r1->umax, r2->umax);
      r2->umin = std::max(r1->umin, r2->umin);
    }
    break;
  case BPF_JLT:
    if (jmp32) {
      r1->u32_max = std::min(r1->u32_max, static_cast<u32>(r2->u32_max - 1));
      r2->u32_min = std::max(static_cast<u32>(r1->u32_min + 1), r2->u32_min);
    } else {
      r1->umax = std::min(r1->umax, r2->umax - 1);
      r2->umin = std::max(r1->umin + 1, r2->umin);
    }
    break;
  case BPF_JSLE:
    if (jmp32) {
      r1->s32_max = std::min(r1->s32_max, r2->s32_max);
      r2->s32_min = std::max(r1->s32_min, r2->s32_min);
    } else {
      r1->smax = std::min(r1->smax, r2->smax);
      r2->smin = std::max(r1->smin, r2->smin);
    }
    break;
  case BPF_JSLT:
    if (jmp32) {
      r1->s32_max = std::min(r1->s32_max, static_cast<s32>(static_cast<u32>(r2->s32_max) - 1));
      r2->s32_min = std::max(static_cast<s32>(static_cast<u32>(r1->s32_min) + 1), r2->s32_min);
    } else {
      r1->smax = std::min(r1->smax, static_cast<s64>(static_cast<u64>(r2->smax) - 1));
      r2->smin = std::max(static_cast<s64>(static_cast<u64>(r1->smin) + 1), r2->smin);
    }
    break;
  default:
    break;
  }
}

// The log prints numbers in decimal when small (|s| within s16, u within
// u16), else in hex (kernel/bpf/log.c: is_snum_decimal / is_unum_decimal).
bool snum_decimal(s64 v) { return v >= INT16_MIN && v <= INT16_MAX; }

std::string snum(s64 v) {
  char buf[32];
  if (snum_decimal(v))
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  else
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string unum(u64 v) {
  char buf[32];
  if (v <= UINT16_MAX)
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
  else
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

} // namespace

// ---------------------------------------------------------------- Scalar

Scalar Scalar::constant(uint64_t v) {
  Scalar s;
  set_known(s, v);
  return s;
}

Scalar Scalar::constant32(uint32_t v) { return constant(v); }

Scalar Scalar::unsigned_range(uint64_t min, uint64_t max) {
  Scalar s;
  if (min > max) std::swap(min, max);
  s.umin = min;
  s.umax = max;
  s.var_off = Tnum::range(min, max);
  s.sync();
  return s;
}

bool Scalar::consistent() const {
  if (umin > umax || smin > smax || u32_min > u32_max || s32_min > s32_max) return false;
  if (var_off.is_const()) {
    u64 v = var_off.value;
    if (umin != v || umax != v || smin != static_cast<s64>(v) || smax != static_cast<s64>(v)) return false;
  }
  if (is_const32()) {
    u32 v = static_cast<u32>(var_off.value);
    if (u32_min != v || u32_max != v || s32_min != static_cast<s32>(v) || s32_max != static_cast<s32>(v))
      return false;
  }
  return true;
}

void Scalar::mark_unbounded() {
  unbound64(*this);
  unbound32(*this);
}

void Scalar::sync() {
  update_bounds(*this); // bounds from the tnum
  deduce(*this);        // signed <-> unsigned, 32 <-> 64 (three rounds, as 6.18)
  deduce(*this);
  deduce(*this);
  bound_offset(*this);  // tnum from the bounds
  update_bounds(*this); // and once more bounds from the sharper tnum
}

void Scalar::zext32() {
  var_off = tnum_subreg(var_off);
  umin = u32_min;
  umax = u32_max;
  if (s32_min >= 0 && s32_max >= 0) {
    smin = s32_min;
    smax = s32_max;
  } else {
    smin = 0;
    smax = UINT32_MAX;
  }
}

void Scalar::truncate(int size) {
  if (size < 1 || size >= 8) return;
  var_off = tnum_cast(var_off, static_cast<uint8_t>(size));
  u64 keep = (1ull << (size * 8)) - 1;
  if ((umin & ~keep) == (umax & ~keep)) {
    umin &= keep;
    umax &= keep;
  } else {
    umin = 0;
    umax = keep;
  }
  smin = static_cast<s64>(umin);
  smax = static_cast<s64>(umax);
  if (size < 4) unbound32(*this);
  sync();
}

namespace {
s64 sext(u64 v, int size) {
  switch (size) {
  case 1: return static_cast<int8_t>(v);
  case 2: return static_cast<int16_t>(v);
  default: return static_cast<s32>(static_cast<u32>(v));
  }
}
} // namespace

void Scalar::sign_extend64(int size) {
  if (size != 1 && size != 2 && size != 4) return;
  if (var_off.is_const()) {
    set_known(*this, static_cast<u64>(sext(var_off.value, size)));
    return;
  }
  unsigned bits = static_cast<unsigned>(size) * 8;
  if ((static_cast<u64>(smax) >> bits) == (static_cast<u64>(smin) >> bits)) {
    s64 a = sext(static_cast<u64>(smax), size), b = sext(static_cast<u64>(smin), size);
    s64 lo = std::min(a, b), hi = std::max(a, b);
    if ((lo >= 0) == (hi >= 0)) {
      smin = lo;
      smax = hi;
      s32_min = static_cast<s32>(lo);
      s32_max = static_cast<s32>(hi);
      umin = static_cast<u64>(lo);
      umax = static_cast<u64>(hi);
      u32_min = static_cast<u32>(lo);
      u32_max = static_cast<u32>(hi);
      var_off = Tnum::range(umin, umax);
      return;
    }
  }
  // Anything of the source width, sign-extended.
  s64 lim = size == 1 ? INT8_MAX : size == 2 ? INT16_MAX : INT32_MAX;
  smin = -lim - 1;
  smax = lim;
  s32_min = static_cast<s32>(-lim - 1);
  s32_max = static_cast<s32>(lim);
  umin = 0;
  umax = UINT64_MAX;
  u32_min = 0;
  u32_max = UINT32_MAX;
  var_off = Tnum::unknown();
}

void Scalar::sign_extend32(int size) {
  if (size != 1 && size != 2) return;
  if (var_off.is_const()) {
    u64 v = static_cast<u64>(sext(var_off.value, size));
    var_off = Tnum::constant(v);
    s32_min = s32_max = static_cast<s32>(static_cast<u32>(v));
    u32_min = u32_max = static_cast<u32>(v);
  } else {
    unsigned bits = static_cast<unsigned>(size) * 8;
    bool done = false;
    if ((static_cast<u32>(s32_max) >> bits) == (static_cast<u32>(s32_min) >> bits)) {
      s32 a = static_cast<s32>(sext(static_cast<u32>(s32_max), size));
      s32 b = static_cast<s32>(sext(static_cast<u32>(s32_min), size));
      s32 lo = std::min(a, b), hi = std::max(a, b);
      if ((lo >= 0) == (hi >= 0)) {
        s32_min = lo;
        s32_max = hi;
        u32_min = static_cast<u32>(lo);
        u32_max = static_cast<u32>(hi);
        var_off = tnum_subreg(Tnum::range(static_cast<u64>(static_cast<s64>(lo)), static_cast<u64>(static_cast<s64>(hi))));
        done = true;
      }
    }
    if (!done) {
      s32 lim = size == 1 ? INT8_MAX : INT16_MAX;
      s32_min = -lim - 1;
      s32_max = lim;
      u32_min = 0;
      u32_max = UINT32_MAX;
      var_off = tnum_subreg(Tnum::unknown());
    }
  }
  zext32();
  sync();
}

// ---------------------------------------------------------------- API

Scalar scalar_end(const Scalar &dst, int size, bool swap) {
  if (size != 16 && size != 32 && size != 64) return Scalar::unknown();
  Scalar d = dst;
  if (swap) {
    // Bytes move: the known bits move with them, the ranges mean nothing.
    Tnum t = d.var_off;
    if (size == 16)
      t = Tnum{__builtin_bswap16(static_cast<uint16_t>(t.value)), __builtin_bswap16(static_cast<uint16_t>(t.mask))};
    else if (size == 32)
      t = Tnum{__builtin_bswap32(static_cast<u32>(t.value)), __builtin_bswap32(static_cast<u32>(t.mask))};
    else
      t = Tnum{__builtin_bswap64(t.value), __builtin_bswap64(t.mask)};
    d.var_off = t;
    d.mark_unbounded();
  }
  if (size < 64) d.truncate(size / 8); // keeps the low 16/32 bits (and syncs)
  d.sync();
  return d;
}

Scalar scalar_alu(uint8_t op, bool alu32, const Scalar &dst, const Scalar &src, bool sdiv) {
  (void)sdiv; // signed div/mod are untracked like the unsigned forms
  if (op == BPF_END) {
    // bswap (alu64) and "be" (alu32) swap on a little-endian machine.
    if (!src.is_const()) return Scalar::unknown();
    return scalar_end(dst, static_cast<int>(src.const_value()), true);
  }
  if (!tracked(op, alu32, src)) return Scalar::unknown();
  Scalar d = dst;
  switch (op) {
  case BPF_ADD:
    add32(d, src);
    add64(d, src);
    d.var_off = tnum_add(d.var_off, src.var_off);
    break;
  case BPF_SUB:
    sub32(d, src);
    sub64(d, src);
    d.var_off = tnum_sub(d.var_off, src.var_off);
    break;
  case BPF_NEG: {
    Scalar z = Scalar::constant(0);
    sub32(z, dst);
    sub64(z, dst);
    z.var_off = tnum_neg(dst.var_off);
    d = z;
    break;
  }
  case BPF_MUL:
    d.var_off = tnum_mul(d.var_off, src.var_off);
    mul32(d, src);
    mul64(d, src);
    break;
  case BPF_AND:
  case BPF_OR:
  case BPF_XOR:
    d.var_off = op == BPF_AND  ? tnum_and(d.var_off, src.var_off)
                : op == BPF_OR ? tnum_or(d.var_off, src.var_off)
                               : tnum_xor(d.var_off, src.var_off);
    bitwise32(op, d, src);
    bitwise64(op, d, src);
    break;
  case BPF_LSH:
  case BPF_RSH:
  case BPF_ARSH:
    if (alu32)
      shift32(op, d, src);
    else
      shift64(op, d, src);
    break;
  default:
    return Scalar::unknown();
  }
  if (alu32) d.zext32();
  d.sync();
  return d;
}

int scalar_branch_taken(uint8_t op, bool jmp32, const Scalar &a, const Scalar &b) {
  Tnum t1 = jmp32 ? tnum_subreg(a.var_off) : a.var_off;
  Tnum t2 = jmp32 ? tnum_subreg(b.var_off) : b.var_off;
  u64 umin1 = jmp32 ? a.u32_min : a.umin, umax1 = jmp32 ? a.u32_max : a.umax;
  u64 umin2 = jmp32 ? b.u32_min : b.umin, umax2 = jmp32 ? b.u32_max : b.umax;
  s64 smin1 = jmp32 ? a.s32_min : a.smin, smax1 = jmp32 ? a.s32_max : a.smax;
  s64 smin2 = jmp32 ? b.s32_min : b.smin, smax2 = jmp32 ? b.s32_max : b.smax;
  // Are the two value sets provably disjoint?
  auto disjoint = [&] {
    if (umin1 > umax2 || umax1 < umin2) return true;
    if (smin1 > smax2 || smax1 < smin2) return true;
    if (!jmp32) { // 64-bit inconclusive: the 32-bit halves may still differ
      if (a.u32_min > b.u32_max || a.u32_max < b.u32_min) return true;
      if (a.s32_min > b.s32_max || a.s32_max < b.s32_min) return true;
    }
    return false;
  };
  // Do the known bits of both agree anywhere they are both known (6.18's
  // tnum_overlap)? If not, no value is in both.
  auto tnums_overlap = [&] {
    uint64_t both_known = ~t1.mask & ~t2.mask;
    return (t1.value & both_known) == (t2.value & both_known);
  };
  switch (op) {
  case BPF_JEQ:
    if (t1.is_const() && t2.is_const()) return t1.value == t2.value;
    if (!tnums_overlap()) return 0;
    if (disjoint()) return 0;
    break;
  case BPF_JNE:
    if (t1.is_const() && t2.is_const()) return t1.value != t2.value;
    if (!tnums_overlap()) return 1;
    if (disjoint()) return 1;
    break;
  case BPF_JSET: {
    const Scalar *r2 = &b;
    if (!reg_const(b, jmp32)) {
      std::swap(t1, t2);
      r2 = &a;
    }
    if (!reg_const(*r2, jmp32)) return -1;
    if ((~t1.mask & t1.value) & t2.value) return 1;
    if (!((t1.mask | t1.value) & t2.value)) return 0;
    break;
  }
  case BPF_JGT:
    if (umin1 > umax2) return 1;
    if (umax1 <= umin2) return 0;
    break;
  case BPF_JSGT:
    if (smin1 > smax2) return 1;
    if (smax1 <= smin2) return 0;
    break;
  case BPF_JLT:
    if (umax1 < umin2) return 1;
    if (umin1 >= umax2) return 0;
    break;
  case BPF_JSLT:
    if (smax1 < smin2) return 1;
    if (smin1 >= smax2) return 0;
    break;
  case BPF_JGE:
    if (umin1 >= umax2) return 1;
    if (umax1 < umin2) return 0;
    break;
  case BPF_JSGE:
    if (smin1 >= smax2) return 1;
    if (smax1 < smin2) return 0;
    break;
  case BPF_JLE:
    if (umax1 <= umin2) return 1;
    if (umin1 > umax2) return 0;
    break;
  case BPF_JSLE:
    if (smax1 <= smin2) return 1;
    if (smin1 > smax2) return 0;
    break;
  default:
    break;
  }
  return -1;
}

bool scalar_refine(uint8_t op, bool jmp32, bool taken, Scalar *a, Scalar *b) {
  if (!a || !b) return false;
  // A decided branch: the kernel explores only the live side, unrefined.
  int known = scalar_branch_taken(op, jmp32, *a, *b);
  if (known >= 0) return known == (taken ? 1 : 0);
  // One register compared with itself: nothing to learn (reg_set_min_max).
  if (a == b) return true;
  refine(a, b, taken ? op : negate(op), jmp32);
  a->sync();
  b->sync();
  return a->consistent() && b->consistent();
}

bool scalar_fork_minus1_or_0(const Scalar &dst, const Scalar &src, Scalar *minus1, Scalar *zero) {
  if (!src.is_const()) return false; // all 64 bits of src known, even for alu32
  if (dst.smin == -1 && dst.smax == 0) {
    if (minus1) *minus1 = Scalar::constant(~0ull);
    if (zero) *zero = Scalar::constant(0);
    return true;
  }
  if (dst.s32_min == -1 && dst.s32_max == 0) {
    // Only the low half becomes known (__mark_reg32_known); the 64-bit
    // bounds stay as they are until the ALU op's sync.
    if (minus1) {
      *minus1 = dst;
      set_known32(*minus1, UINT32_MAX);
    }
    if (zero) {
      *zero = dst;
      set_known32(*zero, 0);
    }
    return true;
  }
  return false;
}

std::string scalar_invariant_violation(const Scalar &s) {
  const char *what = nullptr;
  if (s.umin > s.umax || s.smin > s.smax || s.u32_min > s.u32_max || s.s32_min > s.s32_max)
    what = "range bounds violation";
  else if (s.var_off.is_const() && (s.umin != s.var_off.value || s.umax != s.var_off.value ||
                                    s.smin != static_cast<s64>(s.var_off.value) ||
                                    s.smax != static_cast<s64>(s.var_off.value)))
    what = "const tnum out of sync with range bounds";
  else if (s.is_const32()) {
    u32 v = static_cast<u32>(s.var_off.value);
    if (s.u32_min != v || s.u32_max != v || s.s32_min != static_cast<s32>(v) || s.s32_max != static_cast<s32>(v))
      what = "const subreg tnum out of sync with range bounds";
  }
  if (!what) return "";
  auto hex = [](u64 v) {
    char b[24];
    std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
    return std::string(b);
  };
  return std::string(what) + " u64=[" + hex(s.umin) + ", " + hex(s.umax) + "] s64=[" + hex(static_cast<u64>(s.smin)) +
         ", " + hex(static_cast<u64>(s.smax)) + "] u32=[" + hex(s.u32_min) + ", " + hex(s.u32_max) + "] s32=[" +
         hex(static_cast<u32>(s.s32_min)) + ", " + hex(static_cast<u32>(s.s32_max)) + "] var_off=(" +
         hex(s.var_off.value) + ", " + hex(s.var_off.mask) + ")";
}

bool scalar_within(const Scalar &old, const Scalar &cur) {
  return old.umin <= cur.umin && old.umax >= cur.umax && old.smin <= cur.smin && old.smax >= cur.smax &&
         old.u32_min <= cur.u32_min && old.u32_max >= cur.u32_max && old.s32_min <= cur.s32_min &&
         old.s32_max >= cur.s32_max && tnum_in(old.var_off, cur.var_off);
}

std::string scalar_str(const Scalar &s) {
  if (s.var_off.is_const()) return snum(static_cast<s64>(s.var_off.value));
  struct Item {
    const char *name;
    u64 val;
    bool omit;
  };
  // 32-bit signed values print sign-extended when decimal, as u32 in hex.
  auto s32v = [](s32 v) {
    return snum_decimal(v) ? static_cast<u64>(static_cast<s64>(v)) : static_cast<u64>(static_cast<u32>(v));
  };
  Item items[] = {
      {"smin", static_cast<u64>(s.smin), s.smin == INT64_MIN},
      {"smax", static_cast<u64>(s.smax), s.smax == INT64_MAX},
      {"umin", s.umin, s.umin == 0},
      {"umax", s.umax, s.umax == UINT64_MAX},
      {"smin32", s32v(s.s32_min), s.s32_min == INT32_MIN},
      {"smax32", s32v(s.s32_max), s.s32_max == INT32_MAX},
      {"umin32", s.u32_min, s.u32_min == 0},
      {"umax32", s.u32_max, s.u32_max == UINT32_MAX},
  };
  constexpr int n = sizeof items / sizeof items[0];
  std::string out;
  for (int i = 0; i < n; i++) {
    if (items[i].omit) continue;
    bool neg1 = items[i].name[0] == 's' && static_cast<s64>(items[i].val) < 0;
    if (!out.empty()) out += ',';
    out += items[i].name;
    out += '=';
    // Same value under the same kind of name (min with min, max with max),
    // never mixing a negative with a positive reading.
    for (int j = i + 2; j < n; j += 2) {
      if (items[j].omit || items[j].val != items[i].val) continue;
      bool neg2 = items[j].name[0] == 's' && static_cast<s64>(items[j].val) < 0;
      if (neg2 != neg1) continue;
      items[j].omit = true;
      out += items[j].name;
      out += '=';
    }
    out += items[i].name[0] == 's' ? snum(static_cast<s64>(items[i].val)) : unum(items[i].val);
  }
  if (!s.var_off.is_unknown()) {
    if (!out.empty()) out += ',';
    out += "var_off=" + tnum_str(s.var_off);
  }
  return out;
}

} // namespace userbpf::verifier
