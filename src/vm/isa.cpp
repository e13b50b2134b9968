#include "vm/isa.h"

#include <array>

namespace userbpf::vm {

namespace {

// The rows of each opcode byte (the atomics share one byte between ten rows).
struct OpcodeIndex {
  std::array<uint8_t, 256> count{};
  std::array<std::array<uint8_t, 16>, 256> rows{};
};

constexpr OpcodeIndex build_index() {
  OpcodeIndex idx{};
  for (size_t i = 0; i < kNumOps; i++) {
    uint8_t code = kOps[i].opcode;
    if (idx.count[code] == idx.rows[code].size()) throw "too many rows share one opcode byte";
    idx.rows[code][idx.count[code]++] = static_cast<uint8_t>(i);
  }
  return idx;
}
static_assert(kNumOps < 256, "row indexes are bytes");

constexpr OpcodeIndex kIndex = build_index();

bool matches(const OpInfo &info, const RawInsn &insn) {
  switch (info.match) {
  case Match::kNone: return true;
  case Match::kOff: return insn.off == info.match_value;
  case Match::kImm: return insn.imm == info.match_value;
  case Match::kSrc: return insn.src == info.match_value;
  }
  return false;
}

} // namespace

const OpInfo *find_op(const RawInsn &insn) {
  for (uint8_t i = 0; i < kIndex.count[insn.code]; i++) {
    const OpInfo &info = kOps[kIndex.rows[insn.code][i]];
    if (matches(info, insn)) return &info;
  }
  return nullptr;
}

bool opcode_known(uint8_t opcode) { return kIndex.count[opcode] != 0; }

} // namespace userbpf::vm
