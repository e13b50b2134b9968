// Helpers shared by the VM tests.
#pragma once

#include <cstdint>

#include "vm/decoder.h"

namespace ubt {

// One raw instruction from its fields.
inline userbpf::vm::RawInsn I(uint8_t code, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0, int32_t imm = 0) {
  userbpf::vm::RawInsn r{};
  r.code = code;
  r.dst = dst;
  r.src = src;
  r.off = off;
  r.imm = imm;
  return r;
}

} // namespace ubt
