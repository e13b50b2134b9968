// Tristate numbers: the bit-level half of the verifier's scalar domain.
// Semantics follow kernel/bpf/tnum.c of Linux 6.18 (the specification); the
// code here is written from that description, not taken from it.
#include <cstdio>

#include "verifier/scalar.h"

namespace userbpf::verifier {

namespace {

Tnum make(uint64_t value, uint64_t mask) { return Tnum{value, mask}; }

// Number of the highest set bit, counting from 1 (0 for x == 0): fls64.
int highest_bit(uint64_t x) { return x ? 64 - __builtin_clzll(x) : 0; }

} // namespace

Tnum Tnum::range(uint64_t min, uint64_t max) {
  // Every bit at or below the highest bit where min and max differ may vary;
  // the bits above it are common to the whole interval.
  int bits = highest_bit(min ^ max);
  if (bits > 63) return Tnum::unknown();
  uint64_t delta = (1ull << bits) - 1;
  return make(min & ~delta, delta);
}

Tnum tnum_add(Tnum a, Tnum b) {
  uint64_t sum_mask = a.mask + b.mask;
  uint64_t sum_val = a.value + b.value;
  // Bits that differ between the smallest and the largest possible sum may
  // carry either way.
  uint64_t carries = (sum_mask + sum_val) ^ sum_val;
  uint64_t unknown = carries | a.mask | b.mask;
  return make(sum_val & ~unknown, unknown);
}

Tnum tnum_sub(Tnum a, Tnum b) {
  uint64_t diff = a.value - b.value;
  uint64_t hi = diff + a.mask; // largest minuend, smallest subtrahend
  uint64_t lo = diff - b.mask; // smallest minuend, largest subtrahend
  uint64_t unknown = (hi ^ lo) | a.mask | b.mask;
  return make(diff & ~unknown, unknown);
}

Tnum tnum_neg(Tnum a) { return tnum_sub(Tnum::constant(0), a); }

Tnum tnum_and(Tnum a, Tnum b) {
  uint64_t may_a = a.value | a.mask;
  uint64_t may_b = b.value | b.mask;
  uint64_t sure = a.value & b.value;
  return make(sure, may_a & may_b & ~sure);
}

Tnum tnum_or(Tnum a, Tnum b) {
  uint64_t sure = a.value | b.value;
  uint64_t unknown = (a.mask | b.mask) & ~sure;
  return make(sure, unknown);
}

Tnum tnum_xor(Tnum a, Tnum b) {
  uint64_t unknown = a.mask | b.mask;
  return make((a.value ^ b.value) & ~unknown, unknown);
}

Tnum tnum_union(Tnum a, Tnum b) {
  // A bit stays known only if it is known, and equal, in both.
  uint64_t unknown = (a.value ^ b.value) | a.mask | b.mask;
  return make(a.value & b.value & ~unknown, unknown);
}

Tnum tnum_mul(Tnum a, Tnum b) {
  // Long multiplication over a's bits, lowest first: a known 1 adds the
  // shifted b, an unknown bit joins "added" and "not added", a known 0 adds
  // nothing (6.18's tnum_mul).
  Tnum acc = Tnum::constant(0);
  while (a.value || a.mask) {
    if (a.value & 1)
      acc = tnum_add(acc, b);
    else if (a.mask & 1)
      acc = tnum_union(acc, tnum_add(acc, b));
    a = tnum_rshift(a, 1);
    b = tnum_lshift(b, 1);
  }
  return acc;
}

Tnum tnum_lshift(Tnum a, uint8_t shift) {
  if (shift >= 64) return Tnum::constant(0);
  return make(a.value << shift, a.mask << shift);
}

Tnum tnum_rshift(Tnum a, uint8_t shift) {
  if (shift >= 64) return Tnum::constant(0);
  return make(a.value >> shift, a.mask >> shift);
}

Tnum tnum_arshift(Tnum a, uint8_t shift, uint8_t insn_bitness) {
  // The sign bit of value and of mask each spread downward: a known sign
  // stays known, an unknown one makes every shifted-in bit unknown.
  if (insn_bitness == 32) {
    unsigned s = shift > 31 ? 31 : shift;
    auto sh32 = [s](uint64_t x) {
      return static_cast<uint64_t>(static_cast<uint32_t>(static_cast<int32_t>(static_cast<uint32_t>(x)) >> s));
    };
    return make(sh32(a.value), sh32(a.mask));
  }
  unsigned s = shift > 63 ? 63 : shift;
  return make(static_cast<uint64_t>(static_cast<int64_t>(a.value) >> s),
              static_cast<uint64_t>(static_cast<int64_t>(a.mask) >> s));
}

Tnum tnum_intersect(Tnum a, Tnum b) {
  // Known in either means known; where both know a bit and disagree the
  // result says 1 (the caller's state is contradictory then).
  uint64_t unknown = a.mask & b.mask;
  return make((a.value | b.value) & ~unknown, unknown);
}

Tnum tnum_cast(Tnum a, uint8_t size) {
  if (size >= 8) return a;
  uint64_t keep = (1ull << (size * 8)) - 1;
  return make(a.value & keep, a.mask & keep);
}

bool tnum_in(Tnum outer, Tnum inner) {
  if (inner.mask & ~outer.mask) return false; // inner varies where outer is fixed
  return outer.value == (inner.value & ~outer.mask);
}

bool tnum_is_aligned(Tnum a, uint64_t size) {
  if (size == 0) return true;
  return ((a.value | a.mask) & (size - 1)) == 0;
}

Tnum tnum_subreg(Tnum a) { return tnum_cast(a, 4); }

Tnum tnum_clear_subreg(Tnum a) { return tnum_lshift(tnum_rshift(a, 32), 32); }

Tnum tnum_with_subreg(Tnum reg, Tnum subreg) { return tnum_or(tnum_clear_subreg(reg), tnum_subreg(subreg)); }

Tnum tnum_const_subreg(Tnum a, uint32_t value) { return tnum_with_subreg(a, Tnum::constant(value)); }

std::string tnum_str(Tnum a) {
  char buf[64];
  if (a.mask == 0) { // a known value prints as a number (kernel/bpf/log.c)
    if (a.value <= UINT16_MAX)
      std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(a.value));
    else
      std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(a.value));
    return buf;
  }
  std::snprintf(buf, sizeof buf, "(0x%llx; 0x%llx)", static_cast<unsigned long long>(a.value),
                static_cast<unsigned long long>(a.mask));
  return buf;
}

} // namespace userbpf::verifier
