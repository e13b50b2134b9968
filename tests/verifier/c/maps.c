// verdict: maps_update priv=accept unpriv=accept
// verdict: maps_no_null_check priv=reject:EACCES unpriv=reject:EACCES
// verdict: maps_index_unchecked priv=reject:EACCES unpriv=reject:EACCES
// verdict: maps_index_masked priv=accept unpriv=accept
// Map helpers on the map types userbpf has, as programs use them, and the
// classic mistake of a missing NULL check.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 128);
  __type(key, __u32);
  __type(value, __u64);
} counts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 128);
  __type(key, __u32);
  __type(value, struct { __u64 packets; __u64 bytes; });
} flows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} per_cpu SEC(".maps");

SEC("socket")
int maps_update(struct __sk_buff *skb) {
  __u32 key = skb->ifindex;
  __u64 init = 1, *v = bpf_map_lookup_elem(&counts, &key);
  if (v)
    __sync_fetch_and_add(v, 1);
  else
    bpf_map_update_elem(&counts, &key, &init, BPF_ANY);
  struct { __u64 packets; __u64 bytes; } *f = bpf_map_lookup_elem(&flows, &key);
  if (f) {
    f->packets++;
    f->bytes += skb->len;
  }
  __u64 *p = bpf_map_lookup_elem(&per_cpu, &key);
  if (p) (*p)++;
  if (skb->len == 0) bpf_map_delete_elem(&counts, &key);
  return 0;
}

SEC("socket")
int maps_no_null_check(struct __sk_buff *skb) {
  __u32 key = 0;
  __u64 *v = bpf_map_lookup_elem(&counts, &key);
  return *v; // may be NULL
}

SEC("socket")
int maps_index_unchecked(struct __sk_buff *skb) {
  __u32 key = 0;
  __u64 *v = bpf_map_lookup_elem(&counts, &key);
  if (!v) return 0;
  __u32 i = skb->len;
  return ((__u8 *)v)[i]; // i is not bounded by the value size
}

SEC("socket")
int maps_index_masked(struct __sk_buff *skb) {
  __u32 key = 0;
  __u64 *v = bpf_map_lookup_elem(&counts, &key);
  if (!v) return 0;
  __u32 i = skb->len & 7;
  return ((__u8 *)v)[i];
}

char LICENSE[] SEC("license") = "GPL";
