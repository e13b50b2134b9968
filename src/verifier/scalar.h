// What the verifier knows of a scalar: a tnum (which bits are known, and
// their values) and signed/unsigned bounds, 64- and 32-bit, kept consistent
// with each other as the kernel does (reg_bounds_sync). The transfer
// functions follow kernel/bpf/verifier.c (adjust_scalar_min_max_vals,
// is_branch_taken, reg_set_min_max) and kernel/bpf/tnum.c.
#pragma once

#include <cstdint>
#include <string>

namespace userbpf::verifier {

// A tristate number: bit i is unknown if mask bit i is set, else it equals
// value bit i. Invariant: (value & mask) == 0.
struct Tnum {
  uint64_t value = 0;
  uint64_t mask = ~0ull;

  static Tnum constant(uint64_t v) { return {v, 0}; }
  static Tnum unknown() { return {0, ~0ull}; }
  static Tnum range(uint64_t min, uint64_t max); // tnum_range
  bool is_const() const { return mask == 0; }
  bool is_unknown() const { return mask == ~0ull; }
  bool operator==(const Tnum &) const = default;
};

Tnum tnum_add(Tnum a, Tnum b);
Tnum tnum_sub(Tnum a, Tnum b);
Tnum tnum_neg(Tnum a);
Tnum tnum_mul(Tnum a, Tnum b);
Tnum tnum_and(Tnum a, Tnum b);
Tnum tnum_or(Tnum a, Tnum b);
Tnum tnum_xor(Tnum a, Tnum b);
Tnum tnum_lshift(Tnum a, uint8_t shift);
Tnum tnum_rshift(Tnum a, uint8_t shift);
Tnum tnum_arshift(Tnum a, uint8_t shift, uint8_t insn_bitness); // 32 or 64
Tnum tnum_intersect(Tnum a, Tnum b);
Tnum tnum_union(Tnum a, Tnum b);                  // tnum_union (6.x)
Tnum tnum_cast(Tnum a, uint8_t size);             // keep the low `size` bytes
bool tnum_in(Tnum outer, Tnum inner);             // every value of inner is in outer
bool tnum_is_aligned(Tnum a, uint64_t size);
Tnum tnum_subreg(Tnum a);                         // low 32 bits
Tnum tnum_clear_subreg(Tnum a);                   // high 32 bits only
Tnum tnum_with_subreg(Tnum reg, Tnum subreg);     // high of reg, low 32 of subreg
Tnum tnum_const_subreg(Tnum a, uint32_t value);
// The kernel's tnum_strn: "(0x0; 0xff)" style; used by the log. A known
// value prints as a number: decimal up to 65535 ("16"), else "0x12345".
std::string tnum_str(Tnum a);

// A scalar register's value set. Every field is always valid; unknown() is
// the full range.
struct Scalar {
  Tnum var_off = Tnum::unknown();
  int64_t smin = INT64_MIN, smax = INT64_MAX;
  uint64_t umin = 0, umax = UINT64_MAX;
  int32_t s32_min = INT32_MIN, s32_max = INT32_MAX;
  uint32_t u32_min = 0, u32_max = UINT32_MAX;

  static Scalar unknown() { return {}; }
  static Scalar constant(uint64_t v);        // __mark_reg_known
  static Scalar constant32(uint32_t v);      // 32-bit known, upper 32 bits zero
  static Scalar unsigned_range(uint64_t min, uint64_t max); // e.g. a zero-extended u8 load
  bool is_const() const { return var_off.is_const(); }
  uint64_t const_value() const { return var_off.value; }
  bool is_const32() const { return (var_off.mask & 0xffffffffull) == 0; }
  // False when the bounds contradict each other (an impossible branch):
  // the kernel's reg_bounds_sanity_check.
  bool consistent() const;
  bool operator==(const Scalar &) const = default;

  // reg_bounds_sync: deduce every bound from the others and tighten var_off.
  void sync();
  // After a 32-bit ALU op: the upper 32 bits become zero (zext_32_to_64:
  // 64-bit bounds taken from the 32-bit ones). Does not sync; call sync().
  void zext32();
  // __mark_reg_unbounded: every bound to its full range, var_off kept (what
  // 6.18 does to a register whose bounds became contradictory).
  void mark_unbounded();
  // coerce_reg_to_size: keep the low `size` bytes (zero-extended) - 1, 2, 4.
  void truncate(int size);
  // coerce_reg_to_size_sx / the MOVSX forms: sign-extend from `size` bytes
  // into 64 bits (1, 2, 4; no sync, as the kernel), and for the 32-bit MOVSX
  // (1, 2), into 32 bits then zero-extend and sync.
  void sign_extend64(int size);
  void sign_extend32(int size);
};

// The result of `dst op src` for a scalar ALU operation (op = BPF_ADD, BPF_SUB,
// BPF_MUL, BPF_DIV, BPF_MOD, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH,
// BPF_ARSH, BPF_NEG, BPF_END with size in src as a constant); `alu32` for the
// 32-bit class (result zero-extended). `sdiv` for the off=1 signed div/mod.
// As adjust_scalar_min_max_vals in 6.18: results the kernel does not track
// (div, mod, signed or not; shifts by a non-constant amount or one
// >= the width) are Scalar::unknown() -- all 64 bits, even for alu32, as the
// kernel's __mark_reg_unknown does before its zero-extension step.
Scalar scalar_alu(uint8_t op, bool alu32, const Scalar &dst, const Scalar &src, bool sdiv = false);

// maybe_fork_scalars (the running 6.18 kernel, checked on this machine):
// before BPF_AND / BPF_OR (alu32 or alu64, K or X) whose src is a constant
// (its whole 64-bit tnum known, even for alu32) on a scalar dst whose range
// is exactly [-1, 0] -- s64 bounds, or else s32 bounds -- the verifier splits
// the path: the current one goes on with dst = -1 (all 64 bits, or the low 32
// bits), a pushed one, logged "from N to N:" (N = this insn), with dst = 0.
// The op is then applied on each with src as it was before the split (also
// when src is the same register as dst). Returns false (outputs untouched)
// when no split happens.
bool scalar_fork_minus1_or_0(const Scalar &dst, const Scalar &src, Scalar *minus1, Scalar *zero);

// BPF_END on this (little-endian) machine, as the running 6.18 kernel
// (scalar_byte_swap): `swap` for bswap16/32/64 (alu64) and be16/32/64, not
// for le16/32/64; size 16, 32 or 64. The tnum's bytes are swapped (bounds
// re-derived from it), then 16/32 keep only their low bits (zero-extended).
// scalar_alu(BPF_END, ...) is the swapping form with the size in src.
Scalar scalar_end(const Scalar &dst, int size, bool swap);

// Is `a op b` (op = BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE,
// BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET) always true (1), always
// false (0), or unknown (-1)? `jmp32` compares the low 32 bits. (is_branch_taken)
int scalar_branch_taken(uint8_t op, bool jmp32, const Scalar &a, const Scalar &b);

// Refine a and b on the side of the branch where `a op b` is `taken`
// (reg_set_min_max / regs_refine_cond_op, then sync). Returns false if that
// side is impossible: scalar_branch_taken decides it the other way (a and b
// are then untouched), or a refined register's bounds contradict each other
// (scalar_invariant_violation() is then non-empty for it). When
// scalar_branch_taken decides the branch this way, a and b are left as they
// are, as the kernel does not refine a predicted branch. a == b (one
// register) refines nothing.
//
// What the running 6.18 kernel does with a contradiction (checked on this
// machine): it does NOT drop the branch. reg_set_min_max refines both sides
// and checks true_reg1 (a), true_reg2 (b), false_reg1, false_reg2 in turn;
// for each one in contradiction it logs
//   "verifier bug: REG INVARIANTS VIOLATION (true_reg2): <violation>\n"
// (<violation> = scalar_invariant_violation()), applies mark_unbounded() to
// that register (var_off kept) and goes on exploring both sides.
bool scalar_refine(uint8_t op, bool jmp32, bool taken, Scalar *a, Scalar *b);

// reg_bounds_sanity_check's text for a contradictory scalar, e.g. "range
// bounds violation u64=[0x0, 0xffff] s64=[0x0, 0xffff] u32=[0x2a0e2e15,
// 0xffff] s32=[0x0, 0xffff] var_off=(0x0, 0xffff)"; "" when consistent().
std::string scalar_invariant_violation(const Scalar &s);

// State pruning: is every value of `cur` also a value of `old`? (range_within
// + tnum_in, what regsafe asks of a precise scalar).
bool scalar_within(const Scalar &old, const Scalar &cur);

// The kernel's log text of a scalar register's bounds, e.g.
// "smin=0,smax=umax=255,var_off=(0x0; 0xff)" (print_scalar_ranges, what goes
// inside "scalar(...)"; "" for a fully unknown scalar), or the constant itself
// when known ("5", "-1", "0x10000": decimal within [S16_MIN, S16_MAX], else
// hex; unsigned bounds decimal up to U16_MAX).
std::string scalar_str(const Scalar &s);

} // namespace userbpf::verifier
