#include "vm/assembler.h"

#include <cerrno>
#include <cstdlib>
#include <map>
#include <optional>

namespace userbpf::vm {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_operands(std::string_view s) {
  std::vector<std::string_view> out;
  if (trim(s).empty()) return out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); i++)
    if (i == s.size() || s[i] == ',') {
      out.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  return out;
}

// A number: decimal or 0x hex, optional sign. Values up to 64 bits.
std::optional<int64_t> parse_number(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  bool negative = false;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return std::nullopt;
    if (v > (UINT64_MAX - d) / base) return std::nullopt;
    v = v * base + d;
  }
  return static_cast<int64_t>(negative ? 0 - v : v);
}

std::optional<uint8_t> parse_reg(std::string_view s) {
  s = trim(s);
  if (s.size() < 3 || s[0] != '%' || s[1] != 'r') return std::nullopt;
  auto n = parse_number(s.substr(2));
  if (!n || *n < 0 || *n >= kNumRegs) return std::nullopt;
  return static_cast<uint8_t>(*n);
}

// "[%rN+off]", "[%rN-off]" or "[%rN]".
bool parse_mem(std::string_view s, uint8_t *reg, int16_t *off) {
  s = trim(s);
  if (s.size() < 4 || s.front() != '[' || s.back() != ']') return false;
  s = s.substr(1, s.size() - 2);
  size_t sign = s.find_first_of("+-");
  auto r = parse_reg(s.substr(0, sign));
  if (!r) return false;
  *reg = *r;
  *off = 0;
  if (sign == std::string_view::npos) return true;
  auto o = parse_number(s.substr(sign));
  if (!o || *o < INT16_MIN || *o > INT16_MAX) return false;
  *off = static_cast<int16_t>(*o);
  return true;
}

bool fits_imm32(int64_t v) { return v >= INT32_MIN && v <= static_cast<int64_t>(UINT32_MAX); }

struct PendingJump {
  size_t insn;     // index of the instruction to patch
  std::string label;
  bool in_imm;     // ja32 and call local keep the offset in imm
  int line;
};

} // namespace

int assemble(std::string_view text, std::vector<RawInsn> *out, std::string *error,
             std::vector<MapRelocation> *relocs) {
  out->clear();
  if (relocs) relocs->clear();
  std::map<std::string, size_t, std::less<>> labels;
  std::vector<PendingJump> pending;
  int line_no = 0;
  auto fail = [&](const std::string &why) {
    if (error) *error = "line " + std::to_string(line_no) + ": " + why;
    return -EINVAL;
  };

  // Mnemonic -> table rows (several rows share a name: imm and reg forms).
  std::multimap<std::string_view, const OpInfo *> by_name;
  for (const OpInfo &info : kOps) by_name.emplace(info.asm_name, &info);

  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    line_no++;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    // Labels, possibly followed by an instruction.
    while (true) {
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) break;
      std::string_view name = trim(line.substr(0, colon));
      // "lddw %r1, map:m": the colon belongs to an operand, not a label.
      if (name.find_first_of(" \t[],%") != std::string_view::npos) break;
      if (name.empty()) return fail("bad label");
      if (!labels.emplace(std::string(name), out->size()).second)
        return fail("label '" + std::string(name) + "' defined twice");
      line = trim(line.substr(colon + 1));
    }
    if (line.empty()) continue;

    // ".insn CODE, DST, SRC, OFF, IMM": one raw instruction.
    if (line.substr(0, 6) == ".insn " || line.substr(0, 6) == ".insn\t") {
      std::vector<std::string_view> f = split_operands(line.substr(6));
      std::optional<int64_t> v[5];
      if (f.size() != 5) return fail("expected .insn CODE, DST, SRC, OFF, IMM");
      for (size_t i = 0; i < 5; i++) v[i] = parse_number(f[i]);
      if (!v[0] || *v[0] < 0 || *v[0] > 0xff || !v[1] || *v[1] < 0 || *v[1] > 15 || !v[2] || *v[2] < 0 ||
          *v[2] > 15 || !v[3] || *v[3] < INT16_MIN || *v[3] > INT16_MAX || !v[4] || !fits_imm32(*v[4]))
        return fail("a .insn field is out of range");
      RawInsn raw{};
      raw.code = static_cast<uint8_t>(*v[0]);
      raw.dst = static_cast<uint8_t>(*v[1]);
      raw.src = static_cast<uint8_t>(*v[2]);
      raw.off = static_cast<int16_t>(*v[3]);
      raw.imm = static_cast<int32_t>(static_cast<uint32_t>(*v[4]));
      out->push_back(raw);
      continue;
    }

    // The mnemonic: one word, or "lock [fetch] op", or "call local".
    size_t sp = line.find_first_of(" \t");
    std::string mnemonic(line.substr(0, sp));
    std::string_view rest = sp == std::string_view::npos ? std::string_view() : trim(line.substr(sp));
    bool atomic = false;
    if (mnemonic == "lock") {
      atomic = true;
      size_t sp2 = rest.find_first_of(" \t");
      mnemonic = std::string(rest.substr(0, sp2));
      rest = sp2 == std::string_view::npos ? std::string_view() : trim(rest.substr(sp2));
      if (mnemonic == "fetch") {
        size_t sp3 = rest.find_first_of(" \t");
        mnemonic = "fetch " + std::string(rest.substr(0, sp3));
        rest = sp3 == std::string_view::npos ? std::string_view() : trim(rest.substr(sp3));
      }
    } else if (mnemonic == "call" && rest.substr(0, 6) == "local ") {
      mnemonic = "call local";
      rest = trim(rest.substr(6));
    }
    std::vector<std::string_view> ops = split_operands(rest);
    // The suite also spells the byte swaps "swapN".
    if (mnemonic == "swap16" || mnemonic == "swap32" || mnemonic == "swap64") mnemonic = "b" + mnemonic;

    auto [first, last] = by_name.equal_range(mnemonic);
    if (first == last) return fail("unknown mnemonic '" + mnemonic + "'");
    // Pick the row whose shape fits the operands.
    const OpInfo *chosen = nullptr;
    for (auto it = first; it != last && !chosen; ++it) {
      const OpInfo *info = it->second;
      if ((info->shape == Shape::kAtomic) != atomic) continue;
      switch (info->shape) {
      case Shape::kAluImm: if (ops.size() == 2 && !parse_reg(ops[1])) chosen = info; break;
      case Shape::kAluReg: if (ops.size() == 2 && parse_reg(ops[1])) chosen = info; break;
      case Shape::kJumpImm: if (ops.size() == 3 && !parse_reg(ops[1])) chosen = info; break;
      case Shape::kJumpReg: if (ops.size() == 3 && parse_reg(ops[1])) chosen = info; break;
      case Shape::kCall: if (ops.size() == 1 && !parse_reg(ops[0])) chosen = info; break;
      case Shape::kCallReg: if (ops.size() == 1 && parse_reg(ops[0])) chosen = info; break;
      case Shape::kNeg:
      case Shape::kEndian:
      case Shape::kLdImm64:
      case Shape::kLoad:
      case Shape::kStoreImm:
      case Shape::kStoreReg:
      case Shape::kAtomic:
      case Shape::kJa:
      case Shape::kJa32:
      case Shape::kCallLocal:
      case Shape::kExit:
      case Shape::kLdAbs:
      case Shape::kLdInd: chosen = info; break;
      }
    }
    if (!chosen) return fail("operands do not fit '" + mnemonic + "'");

    RawInsn insn{};
    insn.code = chosen->opcode;
    switch (chosen->match) {
    case Match::kNone: break;
    case Match::kOff: insn.off = static_cast<int16_t>(chosen->match_value); break;
    case Match::kImm: insn.imm = chosen->match_value; break;
    case Match::kSrc: insn.src = static_cast<uint8_t>(chosen->match_value); break;
    }
    auto want = [&](size_t n) { return ops.size() == n; };
    auto imm32 = [&](std::string_view s, int32_t *v) {
      auto n = parse_number(s);
      if (!n || !fits_imm32(*n)) return false;
      *v = static_cast<int32_t>(static_cast<uint32_t>(*n));
      return true;
    };
    // A jump target: a label (patched later) or a signed offset.
    auto target = [&](std::string_view s, bool in_imm) {
      s = trim(s);
      if (s.empty()) return false;
      if (s[0] == '+' || s[0] == '-') {
        auto n = parse_number(s);
        if (!n) return false;
        if (in_imm) {
          if (*n < INT32_MIN || *n > INT32_MAX) return false;
          insn.imm = static_cast<int32_t>(*n);
        } else {
          if (*n < INT16_MIN || *n > INT16_MAX) return false;
          insn.off = static_cast<int16_t>(*n);
        }
        return true;
      }
      pending.push_back({out->size(), std::string(s), in_imm, line_no});
      return true;
    };
    std::optional<uint8_t> r;
    switch (chosen->shape) {
    case Shape::kAluImm:
      if (!(r = parse_reg(ops[0])) || !imm32(ops[1], &insn.imm)) return fail("expected %rN, imm");
      insn.dst = *r;
      break;
    case Shape::kAluReg: {
      auto s = parse_reg(ops[1]);
      if (!(r = parse_reg(ops[0])) || !s) return fail("expected %rN, %rM");
      insn.dst = *r;
      insn.src = *s;
      break;
    }
    case Shape::kNeg:
    case Shape::kEndian:
      if (!want(1) || !(r = parse_reg(ops[0]))) return fail("expected %rN");
      insn.dst = *r;
      break;
    case Shape::kLdImm64: {
      std::optional<int64_t> v;
      if (!want(2) || !(r = parse_reg(ops[0]))) return fail("expected %rN, imm64");
      insn.dst = *r;
      // Symbolic sources: map:NAME, mapvalue:NAME+OFF, func:LABEL.
      std::string_view sym = ops[1];
      auto starts = [&](std::string_view p) { return sym.substr(0, p.size()) == p; };
      if (starts("map:") || starts("mapvalue:")) {
        bool value = starts("mapvalue:");
        std::string_view name = sym.substr(value ? 9 : 4);
        int64_t offset = 0;
        if (size_t plus = name.find_first_of("+-"); value && plus != std::string_view::npos) {
          auto o = parse_number(name.substr(plus));
          if (!o || !fits_imm32(*o)) return fail("bad offset in '" + std::string(sym) + "'");
          offset = *o;
          name = name.substr(0, plus);
        }
        name = trim(name);
        if (name.empty()) return fail("expected a map name after '" + std::string(sym.substr(0, value ? 9 : 4)) + "'");
        if (!relocs) return fail("map '" + std::string(name) + "' named, but the caller takes no relocations");
        insn.src = static_cast<uint8_t>(value ? Pseudo::kMapValue : Pseudo::kMapFd);
        relocs->push_back({out->size(), std::string(name)});
        out->push_back(insn);
        RawInsn hi{};
        hi.imm = static_cast<int32_t>(static_cast<uint32_t>(offset));
        out->push_back(hi);
        continue;
      }
      if (starts("func:")) {
        insn.src = static_cast<uint8_t>(Pseudo::kFunc);
        std::string_view label = trim(sym.substr(5));
        if (label.empty()) return fail("expected a label after 'func:'");
        pending.push_back({out->size(), std::string(label), true, line_no});
        out->push_back(insn);
        out->push_back(RawInsn{});
        continue;
      }
      if (!(v = parse_number(ops[1]))) return fail("expected %rN, imm64");
      insn.imm = static_cast<int32_t>(static_cast<uint32_t>(*v));
      out->push_back(insn);
      RawInsn hi{};
      hi.imm = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(*v) >> 32));
      out->push_back(hi);
      continue;
    }
    case Shape::kLoad: {
      uint8_t base;
      if (!want(2) || !(r = parse_reg(ops[0])) || !parse_mem(ops[1], &base, &insn.off))
        return fail("expected %rN, [%rM+off]");
      insn.dst = *r;
      insn.src = base;
      break;
    }
    case Shape::kStoreImm: {
      uint8_t base;
      if (!want(2) || !parse_mem(ops[0], &base, &insn.off) || !imm32(ops[1], &insn.imm))
        return fail("expected [%rN+off], imm");
      insn.dst = base;
      break;
    }
    case Shape::kStoreReg:
    case Shape::kAtomic: {
      uint8_t base;
      if (!want(2) || !parse_mem(ops[0], &base, &insn.off) || !(r = parse_reg(ops[1])))
        return fail("expected [%rN+off], %rM");
      insn.dst = base;
      insn.src = *r;
      break;
    }
    case Shape::kJa:
      if (!want(1) || !target(ops[0], false)) return fail("expected a jump target");
      break;
    case Shape::kJa32:
      if (!want(1) || !target(ops[0], true)) return fail("expected a jump target");
      break;
    case Shape::kJumpImm:
      if (!(r = parse_reg(ops[0])) || !imm32(ops[1], &insn.imm) || !target(ops[2], false))
        return fail("expected %rN, imm, target");
      insn.dst = *r;
      break;
    case Shape::kJumpReg: {
      auto s = parse_reg(ops[1]);
      if (!(r = parse_reg(ops[0])) || !s || !target(ops[2], false)) return fail("expected %rN, %rM, target");
      insn.dst = *r;
      insn.src = *s;
      break;
    }
    case Shape::kCall:
      if (!imm32(ops[0], &insn.imm)) return fail("expected a helper id");
      break;
    case Shape::kCallLocal:
      if (!want(1) || !target(ops[0], true)) return fail("expected a function label");
      break;
    case Shape::kCallReg:
      insn.dst = *parse_reg(ops[0]);
      break;
    case Shape::kExit:
      if (!want(0)) return fail("exit takes no operands");
      break;
    case Shape::kLdAbs:
      if (!want(1) || !imm32(ops[0], &insn.imm)) return fail("expected imm");
      break;
    case Shape::kLdInd:
      if (!want(2) || !(r = parse_reg(ops[0])) || !imm32(ops[1], &insn.imm)) return fail("expected %rN, imm");
      insn.src = *r;
      break;
    }
    out->push_back(insn);
  }

  for (const PendingJump &j : pending) {
    line_no = j.line;
    int64_t dest;
    if (auto it = labels.find(j.label); it != labels.end()) {
      dest = static_cast<int64_t>(it->second);
    } else if (j.label == "exit") {
      dest = -1;
      for (size_t i = 0; i < out->size() && dest < 0; i++)
        if ((*out)[i].code == op_info(Op::EXIT).opcode) dest = static_cast<int64_t>(i);
      if (dest < 0) return fail("jump to 'exit' in a program without an exit instruction");
    } else {
      return fail("undefined label '" + j.label + "'");
    }
    int64_t rel = dest - static_cast<int64_t>(j.insn) - 1;
    RawInsn &insn = (*out)[j.insn];
    if (j.in_imm) {
      insn.imm = static_cast<int32_t>(rel);
    } else {
      if (rel < INT16_MIN || rel > INT16_MAX) return fail("jump to '" + j.label + "' is too far for a 16-bit offset");
      insn.off = static_cast<int16_t>(rel);
    }
  }
  return 0;
}

} // namespace userbpf::vm
