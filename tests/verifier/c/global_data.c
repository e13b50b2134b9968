// verdict: globals_count priv=accept unpriv=reject:EACCES
// verdict: globals_index_unchecked priv=reject:EACCES unpriv=reject:EACCES
// verdict: globals_printk priv=accept unpriv=reject:EINVAL
// Global variables as libbpf programs use them: .bss and .data counters and a
// const volatile .rodata setting (libbpf turns each section into a
// single-entry array map, freezes .rodata, and points LD_IMM64 at the value
// with BPF_PSEUDO_MAP_VALUE), plus bpf_printk from a GPL program.
#include "common.h"

const volatile __u32 drop_port = 53; // .rodata: known to the verifier after freeze
__u64 packets = 0;                   // .bss
__u64 dropped = 7;                   // .data
__u32 histogram[16];                 // .bss array

SEC("xdp")
int globals_count(struct xdp_md *ctx) {
  __sync_fetch_and_add(&packets, 1);
  __u32 len = ctx->data_end - ctx->data;
  histogram[(len >> 6) & 15]++;
  if (drop_port == 0) return XDP_PASS;
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  struct iphdr *ip = data + sizeof(*eth);
  struct udphdr *udp = data + sizeof(*eth) + sizeof(*ip);
  if ((void *)(udp + 1) > data_end) return XDP_PASS;
  if (ip->protocol == IPPROTO_UDP && udp->dest == bpf_htons(drop_port)) {
    dropped++;
    return XDP_DROP;
  }
  return XDP_PASS;
}

SEC("xdp")
int globals_index_unchecked(struct xdp_md *ctx) {
  __u32 len = ctx->data_end - ctx->data;
  histogram[len >> 6]++; // not masked: may index past the 16 entries
  return XDP_PASS;
}

SEC("socket")
int globals_printk(struct __sk_buff *skb) {
  bpf_printk("len %u packets %llu", skb->len, packets);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
