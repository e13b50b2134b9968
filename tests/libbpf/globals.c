// Global data as libbpf programs use it: .rodata (const volatile, frozen by
// libbpf), .data and .bss, each a one-element BPF_F_MMAPABLE array with a
// DATASEC as its BTF value; plus a BTF-defined map. tests/libbpf/test_libbpf.cpp
// opens it through a generated skeleton.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 scale = 3; // .rodata: set through the skeleton before load
__u64 runs = 0;                 // .bss
__u64 total = 100;              // .data
__u32 last_len[4];              // .bss array

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

SEC("socket")
int count_packets(struct __sk_buff *skb) {
  __u32 key = 1;
  __sync_fetch_and_add(&runs, 1);
  total += skb->len * scale;
  last_len[runs & 3] = skb->len;
  __u64 *c = bpf_map_lookup_elem(&counters, &key);
  if (c) __sync_fetch_and_add(c, 1);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
