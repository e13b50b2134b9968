// BTF-typed maps of every family userbpf has: keys and values are structs,
// so their BTF ids reach BPF_MAP_CREATE and come back in bpf_map_info.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow_key {
  __u32 saddr;
  __u32 daddr;
  __u16 sport;
  __u16 dport;
  __u8 proto;
  __u8 pad[3];
};

struct flow_stats {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, struct flow_key);
  __type(value, struct flow_stats);
} flows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct flow_stats);
} per_cpu SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16);
  __type(key, __u64);
  __type(value, __u32);
} recent SEC(".maps");

SEC("xdp")
int track(struct xdp_md *ctx) {
  struct flow_key key = {.proto = 17};
  struct flow_stats zero = {}, *st;
  __u32 idx = 0;
  __u64 len = ctx->data_end - ctx->data;
  st = bpf_map_lookup_elem(&flows, &key);
  if (!st) {
    bpf_map_update_elem(&flows, &key, &zero, BPF_NOEXIST);
    st = bpf_map_lookup_elem(&flows, &key);
    if (!st) return XDP_PASS;
  }
  st->packets++;
  st->bytes += len;
  st = bpf_map_lookup_elem(&per_cpu, &idx);
  if (st) st->packets++;
  __u32 one = 1;
  bpf_map_update_elem(&recent, &len, &one, BPF_ANY);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
