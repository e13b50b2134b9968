// verdict: calls_static priv=accept unpriv=accept
// verdict: calls_global priv=accept unpriv=reject:EACCES
// verdict: calls_deep_stack priv=reject:EACCES unpriv=reject:EACCES
// verdict: calls_stack_ok priv=accept unpriv=reject:EACCES
// bpf-to-bpf calls: static __noinline subprograms, a global function
// (verified on its own, from its BTF prototype), and a call chain whose
// stack frames add up past 512 bytes.
#include "common.h"

static __noinline __u32 mix(__u32 a, __u32 b) { return (a * 31) ^ b; }

static __noinline __u32 hash_skb(struct __sk_buff *skb) {
  return mix(mix(skb->len, skb->protocol), skb->ifindex);
}

SEC("socket")
int calls_static(struct __sk_buff *skb) { return hash_skb(skb) & 1; }

__noinline int global_len_is_big(struct __sk_buff *skb) {
  if (!skb) return 0;
  return skb->len > 1000;
}

SEC("socket")
int calls_global(struct __sk_buff *skb) { return global_len_is_big(skb); }

static __noinline __u64 fill(volatile __u8 *buf, int n) {
  __u64 s = 0;
  for (int i = 0; i < n; i++) buf[i] = i;
  for (int i = 0; i < n; i++) s += buf[i];
  return s;
}

static __noinline __u64 level2(__u32 x) {
  volatile __u8 buf[256];
  return fill(buf, 256) + x;
}

static __noinline __u64 level1(__u32 x) {
  volatile __u8 buf[280];
  return fill(buf, 280) + level2(x);
}

SEC("socket")
int calls_deep_stack(struct __sk_buff *skb) { return level1(skb->len) & 1; }

static __noinline __u64 level1_small(__u32 x) {
  volatile __u8 buf[128];
  return fill(buf, 128) + level2(x);
}

SEC("socket")
int calls_stack_ok(struct __sk_buff *skb) { return level1_small(skb->len) & 1; }

char LICENSE[] SEC("license") = "GPL";
