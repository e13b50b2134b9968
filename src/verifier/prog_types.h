// What each program type may do: read/write which context fields (and what
// a read gives: a scalar or a packet pointer), call which helpers, return
// what. The kernel keeps these in each type's bpf_verifier_ops
// (is_valid_access, get_func_proto) and in check_return_code.
#pragma once

#include <cstdint>

#include "helpers/helpers.h"
#include "verifier/verifier.h"

namespace userbpf::verifier {

// userbpf's own program type for the conformance plugin and embedders that
// run a program over a block of memory: r1 = that memory (ctx_mem_size
// readable and writable bytes), r2 = its size. Not a kernel type; outside
// enum bpf_prog_type's range.
inline constexpr uint32_t kProgTypeMemory = 0x7fff0001;

enum class CtxField : uint8_t { kInvalid, kScalar, kPacket, kPacketMeta, kPacketEnd, kSockOrNull };

// The run-time context (src/prog/context.h builds it for test runs): the
// uapi struct the program sees (__sk_buff, xdp_md), whose fields it reads and
// writes in place, followed at an 8-aligned offset by the real 64-bit packet
// pointers. The uapi struct's data/data_end/data_meta are 32 bits wide and
// cannot hold a pointer of this process, so verify() rewrites each load of
// one of them into a 64-bit load of the pointer (one insn for one insn).
struct CtxPacketPointers {
  uint64_t data;
  uint64_t data_end;
  uint64_t data_meta;
};

struct ProgTypeInfo {
  const char *name;
  // The context field at [off, off+size) for this access, or kInvalid
  // (the verifier says "invalid bpf_context access").
  CtxField (*ctx_access)(int off, int size, bool write, const Options &options);
  // Direct packet access allowed (may_access_direct_pkt_data) for writes.
  bool packet_writes;
  // sizeof the uapi context struct; 0 for types without packet pointers.
  uint32_t ctx_size = 0;
};

// Where the run-time context holds the pointer a load of `field` (kPacket,
// kPacketMeta, kPacketEnd) reads.
constexpr uint32_t ctx_packet_pointers_offset(uint32_t ctx_size) { return (ctx_size + 7) & ~7u; }
int ctx_pointer_offset(const ProgTypeInfo &type, CtxField field);

// nullptr for a type the verifier does not know (yet).
const ProgTypeInfo *prog_type_info(uint32_t prog_type);

// Is this helper callable from this program type with these privileges?
// (get_func_proto returning non-NULL.)
bool helper_allowed(uint32_t prog_type, const helpers::HelperProto &proto, const Privilege &privilege);

} // namespace userbpf::verifier
