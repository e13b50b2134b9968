// What each program type may do: read/write which context fields (and what
// a read gives: a scalar or a packet pointer), call which helpers, return
// what. The kernel keeps these in each type's bpf_verifier_ops
// (is_valid_access, get_func_proto) and in check_return_code.
#pragma once

#include <cstdint>

#include "helpers/context.h"
#include "helpers/helpers.h"
#include "verifier/verifier.h"

namespace userbpf::verifier {

// userbpf's own program type for the conformance plugin and embedders that
// run a program over a block of memory: r1 = that memory (ctx_mem_size
// readable and writable bytes), r2 = its size. Not a kernel type; outside
// enum bpf_prog_type's range.
inline constexpr uint32_t kProgTypeMemory = 0x7fff0001;

// kScalar16: a scalar field the kernel keeps in 16 bits (sk_buff's tc_index):
// a store into it is narrowed to 2 bytes, as convert_ctx_access does.
enum class CtxField : uint8_t { kInvalid, kScalar, kScalar16, kPacket, kPacketMeta, kPacketEnd, kSockOrNull };

// The run-time context's layout (helpers/context.h): the verifier rewrites
// loads of the packet pointer fields into loads of CtxPacketPointers.
using userbpf::CtxPacketPointers;

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
using userbpf::ctx_packet_pointers_offset;
int ctx_pointer_offset(const ProgTypeInfo &type, CtxField field);

// nullptr for a type the verifier does not know (yet).
const ProgTypeInfo *prog_type_info(uint32_t prog_type);

// Is this helper callable from this program type with these privileges?
// (get_func_proto returning non-NULL.)
bool helper_allowed(uint32_t prog_type, const helpers::HelperProto &proto, const Privilege &privilege);

} // namespace userbpf::verifier
