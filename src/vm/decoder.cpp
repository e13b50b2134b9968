#include "vm/decoder.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace userbpf::vm {

int64_t Insn::jump_target(size_t pc) const {
  // Relative to the next slot: imm for gotol, local calls and LD_IMM64 of a
  // function (BPF_PSEUDO_FUNC), off for the other jumps.
  int64_t rel = info().shape == Shape::kJa32 || info().shape == Shape::kCallLocal || info().shape == Shape::kLdImm64 ? imm : off;
  return static_cast<int64_t>(pc) + 1 + rel;
}

namespace {

int fail(std::string *error, size_t pc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int fail(std::string *error, size_t pc, const char *fmt, ...) {
  if (error) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    *error = "insn " + std::to_string(pc) + ": " + buf;
  }
  return -EINVAL;
}

// The fields a shape does not use must be zero (the kernel's "uses reserved
// fields"). The field that selects the row (Match) has been checked already.
const char *reserved_field(const OpInfo &info, const RawInsn &r) {
  switch (info.shape) {
  case Shape::kAluImm: return r.src != 0 ? "src_reg" : nullptr;
  case Shape::kAluReg: return r.imm != 0 ? "imm" : nullptr;
  case Shape::kNeg: return r.src != 0 ? "src_reg" : r.imm != 0 ? "imm" : nullptr;
  case Shape::kEndian: return r.src != 0 ? "src_reg" : r.off != 0 ? "off" : nullptr;
  case Shape::kLdImm64: return r.off != 0 ? "off" : nullptr;
  case Shape::kLoad: return r.imm != 0 ? "imm" : nullptr;
  case Shape::kStoreImm: return r.src != 0 ? "src_reg" : nullptr;
  case Shape::kStoreReg: return r.imm != 0 ? "imm" : nullptr;
  case Shape::kAtomic: return nullptr;
  case Shape::kJa: return r.src != 0 ? "src_reg" : r.dst != 0 ? "dst_reg" : r.imm != 0 ? "imm" : nullptr;
  case Shape::kJa32: return r.src != 0 ? "src_reg" : r.dst != 0 ? "dst_reg" : r.off != 0 ? "off" : nullptr;
  case Shape::kJumpImm: return r.src != 0 ? "src_reg" : nullptr;
  case Shape::kJumpReg: return r.imm != 0 ? "imm" : nullptr;
  case Shape::kCall:
  case Shape::kCallLocal: return r.dst != 0 ? "dst_reg" : r.off != 0 ? "off" : nullptr;
  case Shape::kCallReg: return r.src != 0 ? "src_reg" : r.off != 0 ? "off" : r.imm != 0 ? "imm" : nullptr;
  case Shape::kExit:
    return r.src != 0 ? "src_reg" : r.dst != 0 ? "dst_reg" : r.off != 0 ? "off" : r.imm != 0 ? "imm" : nullptr;
  case Shape::kLdAbs:
  case Shape::kLdInd: return nullptr; // the verifier's (check_ld_abs), after the program type
  }
  return nullptr;
}

bool is_jump(Shape s) {
  return s == Shape::kJa || s == Shape::kJa32 || s == Shape::kJumpImm || s == Shape::kJumpReg ||
         s == Shape::kCallLocal;
}

} // namespace

int decode(const RawInsn *raw, size_t count, DecodedProgram *out, std::string *error) {
  out->insns.clear();
  if (count == 0) {
    if (error) *error = "empty program";
    return -EINVAL;
  }
  if (count > kMaxInsns) {
    if (error) *error = "program of " + std::to_string(count) + " insns is too large (max " +
                        std::to_string(kMaxInsns) + ")";
    return -E2BIG;
  }
  out->insns.resize(count);
  for (size_t pc = 0; pc < count; pc++) {
    const RawInsn &r = raw[pc];
    const OpInfo *info = find_op(r);
    if (!info) {
      if (!opcode_known(r.code)) return fail(error, pc, "unknown opcode 0x%02x", r.code);
      return fail(error, pc, "opcode 0x%02x uses reserved fields (off %d, imm %d, src_reg %d)", r.code, r.off,
                  r.imm, r.src);
    }
    if (const char *field = reserved_field(*info, r))
      return fail(error, pc, "%s (0x%02x) uses reserved field %s", std::string(info->name).c_str(), r.code,
                  field);
    if (r.dst >= kNumRegs) return fail(error, pc, "R%d is invalid", r.dst);
    if (r.src >= kNumRegs && info->shape != Shape::kLdImm64 && info->shape != Shape::kCall &&
        info->shape != Shape::kCallLocal)
      return fail(error, pc, "R%d is invalid", r.src);

    Insn &d = out->insns[pc];
    d.op = info->op;
    d.opcode = r.code;
    d.dst = r.dst;
    d.src = r.src;
    d.off = r.off;
    d.imm = r.imm;
    if (info->shape == Shape::kLdImm64) {
      if (pc + 1 >= count) return fail(error, pc, "invalid bpf_ld_imm64 insn (truncated: no second half)");
      const RawInsn &hi = raw[pc + 1];
      if (hi.code != 0 || hi.dst != 0 || hi.src != 0 || hi.off != 0)
        return fail(error, pc, "invalid bpf_ld_imm64 insn (second half must be zero but imm)");
      if (r.src > kMaxPseudo) return fail(error, pc, "unrecognized bpf_ld_imm64 insn (src_reg %d)", r.src);
      d.pseudo = static_cast<Pseudo>(r.src);
      d.imm_hi = hi.imm;
      bool single_imm = d.pseudo == Pseudo::kMapFd || d.pseudo == Pseudo::kMapIdx ||
                        d.pseudo == Pseudo::kFunc || d.pseudo == Pseudo::kBtfId;
      if (single_imm && hi.imm != 0)
        return fail(error, pc, "unrecognized bpf_ld_imm64 insn (second imm must be 0 for this src_reg)");
      d.imm64 = (static_cast<uint64_t>(static_cast<uint32_t>(hi.imm)) << 32) | static_cast<uint32_t>(r.imm);
      Insn &tail = out->insns[pc + 1];
      tail = d;
      tail.ld_imm64_tail = true;
      pc++;
    }
  }

  // Jump targets: inside the program, never the second half of an LD_IMM64.
  for (size_t pc = 0; pc < count; pc++) {
    const Insn &d = out->insns[pc];
    if (d.ld_imm64_tail) continue;
    bool jumps = is_jump(d.info().shape);
    bool func_ref = d.op == Op::LD_IMM64 && d.pseudo == Pseudo::kFunc;
    if (!jumps && !func_ref) continue;
    int64_t target = d.jump_target(pc);
    if (target < 0 || target >= static_cast<int64_t>(count))
      return fail(error, pc, "jump out of range from insn %zu to %lld", pc, static_cast<long long>(target));
    if (out->insns[target].ld_imm64_tail)
      return fail(error, pc, "jump into the middle of ldimm64 insn %lld", static_cast<long long>(target - 1));
  }
  // The last instruction must not fall through past the end.
  const Insn &last = out->insns[count - 1];
  Shape last_shape = last.info().shape;
  if (last.ld_imm64_tail || (last_shape != Shape::kExit && last_shape != Shape::kJa && last_shape != Shape::kJa32))
    return fail(error, count - 1, "last insn is not an exit or jmp");
  return 0;
}

int decode_bytes(const uint8_t *bytes, size_t len, DecodedProgram *out, std::string *error) {
  if (len % sizeof(RawInsn) != 0) {
    if (error) *error = "program length " + std::to_string(len) + " is not a multiple of 8";
    return -EINVAL;
  }
  std::vector<RawInsn> raw(len / sizeof(RawInsn));
  if (len) std::memcpy(raw.data(), bytes, len);
  return decode(raw.data(), raw.size(), out, error);
}

} // namespace userbpf::vm
