// verdict: xdp_reflect priv=accept unpriv=reject:EACCES
// verdict: xdp_trim_stale priv=reject:EACCES unpriv=reject:EACCES
// verdict: tc_redirect_ingress priv=accept unpriv=accept
// Redirects and tail adjustments as people write them: an XDP program that
// swaps the Ethernet addresses, trims the frame to its IPv4 length and
// sends it out of the interface in a map; the same mistake people make
// (using a packet pointer from before bpf_xdp_adjust_tail); a tc program
// that redirects to another interface's ingress.
#include "common.h"
#include <linux/pkt_cls.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} out_ifindex SEC(".maps");

static __always_inline __u32 target_ifindex(void) {
  __u32 key = 0, *ifindex = bpf_map_lookup_elem(&out_ifindex, &key);
  return ifindex ? *ifindex : 1;
}

SEC("xdp")
int xdp_reflect(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return XDP_DROP;
  unsigned char tmp[ETH_ALEN];
  __builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end) return XDP_DROP;
    int frame_len = (int)(sizeof(*eth) + bpf_ntohs(ip->tot_len));
    int excess = (int)(data_end - data) - frame_len;
    if (excess > 0 && bpf_xdp_adjust_tail(ctx, -excess)) return XDP_ABORTED;
  }
  return bpf_redirect(target_ifindex(), 0);
}

SEC("xdp")
int xdp_trim_stale(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return XDP_DROP;
  if (bpf_xdp_adjust_tail(ctx, -4)) return XDP_ABORTED;
  return eth->h_proto == bpf_htons(ETH_P_IP) ? XDP_PASS : XDP_DROP;
}

SEC("tc")
int tc_redirect_ingress(struct __sk_buff *skb) {
  if (skb->protocol != bpf_htons(ETH_P_IP)) return TC_ACT_OK;
  return bpf_redirect(target_ifindex(), BPF_F_INGRESS);
}

char LICENSE[] SEC("license") = "GPL";
