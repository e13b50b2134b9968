// verdict: xdp_ifindex priv=accept unpriv=accept
// verdict: xdp_write_ctx priv=reject:EACCES unpriv=reject:EACCES
// verdict: sock_read_many priv=accept unpriv=accept
// verdict: sock_read_data priv=reject:EACCES unpriv=reject:EACCES
// Context access per program type as C writes it.
#include "common.h"

SEC("xdp")
int xdp_ifindex(struct xdp_md *ctx) {
  return ctx->ingress_ifindex == 1 && ctx->rx_queue_index < 4 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int xdp_write_ctx(struct xdp_md *ctx) {
  ctx->rx_queue_index = 0; // xdp_md is read-only
  return XDP_PASS;
}

SEC("socket")
int sock_read_many(struct __sk_buff *skb) {
  return skb->len + skb->protocol + skb->vlan_tci + skb->priority + skb->hash + skb->cb[1];
}

SEC("socket")
int sock_read_data(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data; // not available to socket filters
  void *data_end = (void *)(long)skb->data_end;
  return data + 1 < data_end;
}

char LICENSE[] SEC("license") = "GPL";
