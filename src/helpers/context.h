// The run-time context of packet programs, as helpers and the test run see it
// (docs/PROGRAMS.md "The context"): the uapi struct (__sk_buff, xdp_md) the
// program reads and writes in place, followed at an 8-aligned offset by the
// real 64-bit packet pointers. The uapi struct's data/data_end/data_meta are
// 32 bits wide and cannot hold a pointer of this process, so the verifier
// rewrites each load of one of them into a 64-bit load of the pointer.
#pragma once

#include <cstdint>

namespace userbpf {

struct CtxPacketPointers {
  uint64_t data;
  uint64_t data_end;
  uint64_t data_meta;
  uint64_t data_hard_start; // XDP: the buffer's start (headroom), for bpf_xdp_adjust_head/meta
  uint64_t mac_header;      // socket buffers: the frame's Ethernet header (0: none), for LD_ABS's
                            // SKF_LL_OFF / SKF_NET_OFF and bpf_skb_load_bytes_relative
  uint64_t data_hard_end;   // XDP: how far data_end may grow (the frame's end less the
                            // skb_shared_info tailroom), for bpf_xdp_adjust_tail

  // A socket buffer's network header: right after its Ethernet header, as
  // the test run's eth_type_trans leaves it. Only when mac_header is set.
  uint64_t network_header() const { return mac_header + kEthHeaderLen; }
  static constexpr uint64_t kEthHeaderLen = 14; // ETH_HLEN
};

// Where the pointers start behind a uapi context struct of ctx_size bytes.
constexpr uint32_t ctx_packet_pointers_offset(uint32_t ctx_size) { return (ctx_size + 7) & ~7u; }

// The pointers behind the run-time context at address ctx (a helper's r1),
// whose uapi struct is UapiCtx (__sk_buff, xdp_md).
template <typename UapiCtx> CtxPacketPointers &packet_pointers(uint64_t ctx) {
  return *reinterpret_cast<CtxPacketPointers *>(
      static_cast<uintptr_t>(ctx + ctx_packet_pointers_offset(sizeof(UapiCtx))));
}

} // namespace userbpf
