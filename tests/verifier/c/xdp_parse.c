// verdict: xdp_parse priv=accept unpriv=reject:EACCES
// verdict: xdp_parse_fixed priv=accept unpriv=accept
// XDP packet parsing as people write it: Ethernet, IPv4 (variable header
// length), UDP and TCP, counting packets per protocol and per destination port.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u64);
} proto_count SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u16);
  __type(value, __u64);
} port_count SEC(".maps");

static __always_inline void count_port(__u16 port) {
  __u64 one = 1, *v = bpf_map_lookup_elem(&port_count, &port);
  if (v)
    __sync_fetch_and_add(v, 1);
  else
    bpf_map_update_elem(&port_count, &port, &one, BPF_NOEXIST);
}

SEC("xdp")
int xdp_parse(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end) return XDP_DROP;
  __u32 hlen = ip->ihl * 4;
  if (hlen < sizeof(*ip)) return XDP_DROP;
  __u32 proto = ip->protocol;
  __u64 *c = bpf_map_lookup_elem(&proto_count, &proto);
  if (c) __sync_fetch_and_add(c, 1);
  void *l4 = (void *)ip + hlen;
  if (proto == IPPROTO_UDP) {
    struct udphdr *udp = l4;
    if ((void *)(udp + 1) > data_end) return XDP_DROP;
    count_port(bpf_ntohs(udp->dest));
  } else if (proto == IPPROTO_TCP) {
    struct tcphdr *tcp = l4;
    if ((void *)(tcp + 1) > data_end) return XDP_DROP;
    if (tcp->syn && !tcp->ack) count_port(bpf_ntohs(tcp->dest));
  }
  return XDP_PASS;
}

// The same parse with the IPv4 header at a fixed offset (no options).
SEC("xdp")
int xdp_parse_fixed(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  struct iphdr *ip = data + sizeof(*eth);
  struct udphdr *udp = data + sizeof(*eth) + sizeof(*ip);
  if ((void *)(udp + 1) > data_end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP) return XDP_PASS;
  if (udp->dest == bpf_htons(53)) return XDP_DROP;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
