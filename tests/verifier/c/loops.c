// verdict: loop_sum priv=accept unpriv=reject:EACCES
// verdict: loop_bpf_loop priv=accept unpriv=accept
// verdict: loop_packet priv=accept unpriv=reject:EACCES
// Loops: a bounded loop the verifier walks, a loop over packet bytes bounded
// by data_end and a constant, and bpf_loop with a callback.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64[16]);
} table SEC(".maps");

SEC("socket")
int loop_sum(struct __sk_buff *skb) {
  __u32 key = 0;
  __u64 *t = bpf_map_lookup_elem(&table, &key);
  if (!t) return 0;
  __u64 sum = 0;
#pragma clang loop unroll(disable)
  for (int i = 0; i < 16; i++) sum += t[i];
  return sum & 0xffff;
}

SEC("xdp")
int loop_packet(struct xdp_md *ctx) {
  __u8 *data = (void *)(long)ctx->data;
  __u8 *data_end = (void *)(long)ctx->data_end;
  if (data + 16 > data_end) return XDP_PASS;
  __u32 sum = 0;
#pragma clang loop unroll(disable)
  for (int i = 0; i < 16; i++) sum += data[i];
  return sum > 1000 ? XDP_DROP : XDP_PASS;
}

static int add_one(__u32 index, void *ctx) {
  __u64 *sum = ctx;
  *sum += index;
  return 0;
}

SEC("socket")
int loop_bpf_loop(struct __sk_buff *skb) {
  __u64 sum = 0;
  bpf_loop(10, add_one, &sum, 0);
  return sum;
}

char LICENSE[] SEC("license") = "GPL";
