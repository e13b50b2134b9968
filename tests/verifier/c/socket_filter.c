// verdict: sock_count priv=accept unpriv=accept
// verdict: sock_udp_port priv=accept unpriv=accept
// verdict: sock_write_mark priv=reject:EACCES unpriv=reject:EACCES
// A socket filter reading __sk_buff fields and loading bytes with
// bpf_skb_load_bytes (socket filters have no direct packet access).
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} bytes SEC(".maps");

SEC("socket")
int sock_count(struct __sk_buff *skb) {
  __u32 key = skb->pkt_type & 3;
  __u64 *v = bpf_map_lookup_elem(&bytes, &key);
  if (v) *v += skb->len;
  return skb->protocol == bpf_htons(ETH_P_IP) ? -1 : 0;
}

SEC("socket")
int sock_udp_port(struct __sk_buff *skb) {
  struct iphdr ip;
  struct udphdr udp;
  if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) < 0) return 0;
  if (ip.protocol != IPPROTO_UDP) return 0;
  if (bpf_skb_load_bytes(skb, ip.ihl * 4, &udp, sizeof(udp)) < 0) return 0;
  skb->cb[0] = udp.dest;
  return udp.dest == bpf_htons(53) ? skb->len : 0;
}

SEC("socket")
int sock_write_mark(struct __sk_buff *skb) {
  skb->mark = 1; // socket filters may write cb[] only
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
