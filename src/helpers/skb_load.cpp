#include "helpers/skb_load.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>

#include <cstring>

#include <linux/bpf.h>

#include "helpers/context.h"

namespace userbpf::helpers {

int64_t skb_ld_abs(uint64_t ctx, int32_t offset, uint32_t size) {
  const CtxPacketPointers &p = packet_pointers<__sk_buff>(ctx);
  // The offset from the packet's data (bpf_skb_load_helper_convert_offset):
  // the special ranges count from the network or the Ethernet header, which
  // may come before the data (a socket filter's data starts at the network
  // header).
  int64_t from_data = offset;
  if (offset < 0) {
    if (!p.mac_header) return -EFAULT;
    const int64_t mac = static_cast<int64_t>(p.mac_header - p.data);
    if (offset >= SKF_NET_OFF)
      from_data = int64_t{offset} - SKF_NET_OFF + static_cast<int64_t>(p.network_header() - p.data);
    else if (offset >= SKF_LL_OFF)
      from_data = int64_t{offset} - SKF_LL_OFF + mac;
    else
      return -EFAULT;
  }
  // Inside [Ethernet header, end of the packet): the ranges above never
  // reach below the Ethernet header; past the end is the caller's mistake.
  const int64_t len = static_cast<int64_t>(p.data_end - p.data);
  if (from_data > len - static_cast<int64_t>(size)) return -EFAULT;
  const uint8_t *at = reinterpret_cast<const uint8_t *>(static_cast<uintptr_t>(p.data)) + from_data;
  switch (size) {
  case 1: return at[0];
  case 2: {
    uint16_t v;
    memcpy(&v, at, sizeof v);
    return __builtin_bswap16(v);
  }
  case 4: {
    uint32_t v;
    memcpy(&v, at, sizeof v);
    return __builtin_bswap32(v);
  }
  default: return -EFAULT;
  }
}

} // namespace userbpf::helpers
