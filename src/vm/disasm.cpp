#include "vm/disasm.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>

#include "helpers/helpers.h"

namespace userbpf::vm {

namespace {

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...) {
  char buf[192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

// The size strings of memory accesses ("u32"; "s8" for sign-extending loads).
std::string size_name(const Insn &insn) {
  static const char *const kNames[] = {"u32", "u16", "u8", "u64"};
  return kNames[(insn.opcode & 0x18) >> 3];
}

std::string ld_imm64_value(const Insn &insn) {
  switch (insn.pseudo) {
  case Pseudo::kNone: return format("0x%" PRIx64, insn.imm64);
  case Pseudo::kMapFd: return format("map[fd:%d]", insn.imm);
  case Pseudo::kMapValue: return format("map[fd:%d][0]+%d", insn.imm, insn.imm_hi);
  case Pseudo::kBtfId: return format("btf_id[%d]", insn.imm);
  case Pseudo::kFunc: return format("subprog[%+d]", insn.imm);
  case Pseudo::kMapIdx: return format("map[idx:%d]", insn.imm);
  case Pseudo::kMapIdxValue: return format("map[idx:%d][0]+%d", insn.imm, insn.imm_hi);
  }
  return "?";
}

} // namespace

std::string disassemble_insn(const Insn &insn, bool with_opcode) {
  const OpInfo &info = insn.info();
  const char reg = uses_w_regs(insn.opcode) ? 'w' : 'r';
  const int dst = insn.dst, src = insn.src;
  const std::string sym(info.symbol);
  std::string text;
  switch (info.shape) {
  case Shape::kAluImm: text = format("%c%d %s %d", reg, dst, sym.c_str(), insn.imm); break;
  case Shape::kAluReg:
    if (info.match == Match::kOff && (info.opcode & 0xf0) == 0xb0 && insn.off != 0)
      text = format("%c%d = (s%d)%c%d", reg, dst, insn.off, reg, src); // movsx
    else
      text = format("%c%d %s %c%d", reg, dst, sym.c_str(), reg, src);
    break;
  case Shape::kNeg: text = format("%c%d = -%c%d", reg, dst, reg, dst); break;
  case Shape::kEndian: text = format("r%d = %s r%d", dst, sym.c_str(), dst); break;
  case Shape::kLdImm64: text = format("r%d = %s", dst, ld_imm64_value(insn).c_str()); break;
  case Shape::kLoad:
    text = format("r%d = *(%s *)(r%d %+d)", dst, sym.c_str(), src, insn.off);
    break;
  case Shape::kStoreImm: text = format("*(%s *)(r%d %+d) = %d", size_name(insn).c_str(), dst, insn.off, insn.imm); break;
  case Shape::kStoreReg: text = format("*(%s *)(r%d %+d) = r%d", size_name(insn).c_str(), dst, insn.off, src); break;
  case Shape::kAtomic: {
    const std::string size = size_name(insn);
    const char *width = (insn.opcode & 0x18) == kSizeDW ? "64" : "";
    if (!(insn.imm & kAtomicFetch))
      text = format("lock *(%s *)(r%d %+d) %s r%d", size.c_str(), dst, insn.off, sym.c_str(), src);
    else if (insn.imm == kAtomicCmpXchg)
      text = format("r0 = atomic%s_cmpxchg((%s *)(r%d %+d), r0, r%d)", width, size.c_str(), dst, insn.off, src);
    else if (insn.imm == kAtomicXchg)
      text = format("r%d = atomic%s_xchg((%s *)(r%d %+d), r%d)", src, width, size.c_str(), dst, insn.off, src);
    else
      text = format("r%d = atomic%s_fetch_%s((%s *)(r%d %+d), r%d)", src, width, sym.c_str(), size.c_str(), dst,
                    insn.off, src);
    break;
  }
  case Shape::kJa: text = format("goto pc%+d", insn.off); break;
  case Shape::kJa32: text = format("gotol pc%+d", insn.imm); break;
  case Shape::kJumpImm:
    text = format("if %c%d %s 0x%x goto pc%+d", reg, dst, sym.c_str(), static_cast<uint32_t>(insn.imm), insn.off);
    break;
  case Shape::kJumpReg: text = format("if %c%d %s %c%d goto pc%+d", reg, dst, sym.c_str(), reg, src, insn.off); break;
  case Shape::kCall: {
    const helpers::HelperProto *h = helpers::find_helper(insn.imm);
    text = h ? format("call bpf_%s#%d", std::string(h->name).c_str(), insn.imm) : format("call unknown#%d", insn.imm);
    break;
  }
  case Shape::kCallLocal: text = format("call pc%+d", insn.imm); break;
  case Shape::kCallReg: text = format("callx r%d", dst); break;
  case Shape::kExit: text = "exit"; break;
  case Shape::kLdAbs: text = format("r0 = *(%s *)skb[%d]", sym.c_str(), insn.imm); break;
  case Shape::kLdInd: text = format("r0 = *(%s *)skb[r%d + %d]", sym.c_str(), src, insn.imm); break;
  }
  return with_opcode ? format("(%02x) ", insn.opcode) + text : text;
}

std::string disassemble(const DecodedProgram &program) {
  std::string out;
  for (size_t pc = 0; pc < program.insns.size(); pc++) {
    const Insn &insn = program.insns[pc];
    if (insn.ld_imm64_tail) continue;
    out += format("%4zu: ", pc) + disassemble_insn(insn) + "\n";
  }
  return out;
}

} // namespace userbpf::vm
