// A global (non-static) function: its BTF FUNC has global linkage, and the
// kernel verifies it on its own, from its BTF prototype, not per call site.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__attribute__((noinline)) int clamp_len(int len) {
  return len > 1500 ? 1500 : len;
}

SEC("socket")
int global_caller(struct __sk_buff *skb) {
  return clamp_len(skb->len) > 100;
}

char LICENSE[] SEC("license") = "GPL";
