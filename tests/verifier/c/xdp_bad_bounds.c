// verdict: xdp_ip_unchecked priv=reject:EACCES unpriv=reject:EACCES
// verdict: xdp_ip_checked priv=accept unpriv=accept
// verdict: xdp_write_past_end priv=reject:EACCES unpriv=reject:EACCES
// Packet parsing mistakes the verifier must catch: the IP header read after
// checking only the Ethernet header, and a read past the checked range.
#include "common.h"

SEC("xdp")
int xdp_ip_unchecked(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return XDP_DROP;
  struct iphdr *ip = (void *)(eth + 1);
  // Missing: if ((void *)(ip + 1) > data_end) ...
  return ip->protocol == IPPROTO_UDP ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_ip_checked(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end) return XDP_DROP;
  return ip->protocol == IPPROTO_UDP ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_write_past_end(struct xdp_md *ctx) {
  __u8 *data = (void *)(long)ctx->data;
  __u8 *data_end = (void *)(long)ctx->data_end;
  if (data + 4 > data_end) return XDP_DROP;
  data[4] = 0; // one byte past what the check proved
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
