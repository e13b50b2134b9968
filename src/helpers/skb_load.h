// The legacy packet loads, BPF_LD | BPF_ABS and BPF_LD | BPF_IND, at run time:
// what the kernel rewrites each into (bpf_gen_ld_abs: a call of
// bpf_skb_load_helper_{8,16,32}_no_cache, then "if r0 < 0: return 0").
// The interpreter and the JIT both call skb_ld_abs().
#pragma once

#include <cstdint>

namespace userbpf::helpers {

// `size` (1, 2 or 4) bytes of the packet behind the socket-buffer context
// `ctx` (__sk_buff followed by its CtxPacketPointers, helpers/context.h) at
// `offset`, in host byte order, zero-extended; or -EFAULT when they are not
// all inside the packet. offset is as the kernel reads it: >= 0 from the
// packet's data; SKF_NET_OFF + k from the network header, SKF_LL_OFF + k
// from the Ethernet header; anything else fails.
int64_t skb_ld_abs(uint64_t ctx, int32_t offset, uint32_t size);

} // namespace userbpf::helpers
