// The verifier's abstract state: what it knows of every register and stack
// slot at one point of one path (the kernel's bpf_reg_state,
// bpf_stack_state, bpf_func_state and bpf_verifier_state).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "verifier/scalar.h"
#include "vm/isa.h"

namespace userbpf::verifier {

enum class RegType : uint8_t {
  kNotInit,    // never written on this path
  kScalar,     // a number (Reg::s)
  kCtx,        // PTR_TO_CTX
  kMapPtr,     // CONST_PTR_TO_MAP
  kMapValue,   // PTR_TO_MAP_VALUE
  kStack,      // PTR_TO_STACK (of frame Reg::frameno)
  kPacketMeta, // PTR_TO_PACKET_META
  kPacket,     // PTR_TO_PACKET
  kPacketEnd,  // PTR_TO_PACKET_END
  kMem,        // PTR_TO_MEM (Reg::mem_size bytes)
  kSock,       // PTR_TO_SOCK_COMMON (read from __sk_buff->sk; not dereferenceable here)
  kFunc,       // PTR_TO_FUNC (LD_IMM64 of a subprogram)
  kMapKey,     // PTR_TO_MAP_KEY: a map's key, read-only (bpf_for_each_map_elem's callback gets one)
};

struct Reg {
  RegType type = RegType::kNotInit;
  bool maybe_null = false; // PTR_MAYBE_NULL: must be compared with 0 first
  bool rdonly = false;     // MEM_RDONLY
  uint8_t frameno = 0;     // kStack: the frame whose stack this points into
  int32_t off = 0;         // pointers: the fixed part of the offset
  uint32_t id = 0;         // pointers from one lookup (null checks) / one packet base / equal scalars
  uint32_t range = 0;      // packet pointers: bytes from the base proven readable
  int32_t map = -1;        // kMapPtr, kMapValue, kMapKey: index in used_maps
  uint32_t mem_size = 0;   // kMem
  uint32_t subprog = 0;    // kFunc
  Scalar s;                // scalars: the value; pointers: the variable part of the offset

  bool is_pointer() const { return type != RegType::kNotInit && type != RegType::kScalar; }
  bool is_packet() const { return type == RegType::kPacket || type == RegType::kPacketMeta; }
  bool operator==(const Reg &) const = default;
};

// Per-byte state of a stack slot (the kernel's STACK_*).
enum class StackByte : uint8_t { kInvalid, kMisc, kZero, kSpill };

struct StackSlot {
  StackByte bytes[8] = {};
  Reg spilled;     // the register spilled here (bytes all kSpill, or kSpill in the low part for narrow scalar spills)
  bool operator==(const StackSlot &) const = default;
};

struct Frame {
  Reg regs[vm::kNumRegs];
  // slots[i] covers fp-8*(i+1) .. fp-8*i; grows as the program writes deeper.
  std::vector<StackSlot> slots;
  uint32_t callsite = 0;   // insn of the call that made this frame (frame 0: none)
  uint32_t subprog = 0;    // index of the subprogram running in this frame
  // A callback (bpf_loop's, bpf_for_each_map_elem's): its exit goes back to the helper call at
  // callsite, which may run it again (the kernel's in_callback_fn).
  bool in_callback = false;
  // Callback iterations pushed along this path from the helper call this
  // frame is at (the kernel's callback_depth): bpf_loop stops exploring
  // more once it reaches nr_loops' maximum.
  uint32_t callback_depth = 0;
  bool operator==(const Frame &) const = default;
};

struct State {
  std::vector<Frame> frames; // frames.back() is the current one
  bool speculative = false;  // exploring a mispredicted branch (Spectre v1)
  Frame &cur() { return frames.back(); }
  const Frame &cur() const { return frames.back(); }
};

// The kernel's names of register types, as the log prints them.
const char *reg_type_name(const Reg &reg);

} // namespace userbpf::verifier
