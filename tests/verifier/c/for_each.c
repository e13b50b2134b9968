// verdict: for_each_array_sum priv=accept unpriv=accept
// verdict: for_each_hash_sum priv=accept unpriv=accept
// verdict: for_each_percpu_sum priv=accept unpriv=accept
// verdict: for_each_lru_stop priv=accept unpriv=accept
// verdict: for_each_writes_value priv=accept unpriv=accept
// verdict: for_each_writes_key priv=reject:EACCES unpriv=reject:EACCES
// verdict: for_each_returns_2 priv=reject:EINVAL unpriv=reject:EINVAL
// verdict: for_each_flags_nonzero priv=accept unpriv=accept
// verdict: for_each_prog_array priv=reject:ENOTSUPP unpriv=reject:ENOTSUPP
// verdict: for_each_value_out_of_bounds priv=reject:EACCES unpriv=reject:EACCES
// verdict: for_each_null_ctx priv=accept unpriv=accept
// verdict: for_each_deletes_current priv=accept unpriv=accept
// verdict: for_each_map_arg_used priv=accept unpriv=accept
// verdict: for_each_ctx_counts_unchecked priv=reject:EACCES unpriv=reject:EACCES
// verdict: for_each_rdonly_map_write priv=reject:EACCES unpriv=reject:EACCES
// verdict: for_each_ctx_is_skb priv=reject:EACCES unpriv=reject:EACCES
// verdict: for_each_two_maps priv=accept unpriv=accept
// verdict: for_each_two_calls priv=accept unpriv=accept
// bpf_for_each_map_elem (helper 164) as C programs use it: the callback
// gets (map, key, value, ctx) and returns 0 (go on) or 1 (stop); the key is
// read-only, the value is the map's (writable unless the map is read-only
// to programs), the context is the caller's stack. Summing an array and a
// hash, stopping early, deleting the element being visited, and the
// mistakes: writing the key, returning 2, a map type without for_each.
#include "common.h"

struct bpf_map; // the callback's first argument: opaque to the program

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} fe_array SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} fe_hash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} fe_percpu SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} fe_lru SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u32);
} fe_progs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __uint(map_flags, BPF_F_RDONLY_PROG);
  __type(key, __u32);
  __type(value, __u64);
} fe_rdonly SEC(".maps");

struct fe_ctx {
  __u64 sum;
  __u64 visits;
};

static long add_value(struct bpf_map *map, __u32 *key, __u64 *value, struct fe_ctx *c) {
  c->sum += *value;
  c->visits++;
  return 0;
}

SEC("socket")
int for_each_array_sum(struct __sk_buff *skb) {
  struct fe_ctx c = {};
  long n = bpf_for_each_map_elem(&fe_array, add_value, &c, 0);
  return (c.sum + n) & 0xff;
}

SEC("socket")
int for_each_hash_sum(struct __sk_buff *skb) {
  struct fe_ctx c = {};
  long n = bpf_for_each_map_elem(&fe_hash, add_value, &c, 0);
  return (c.sum + n) & 0xff;
}

SEC("socket")
int for_each_percpu_sum(struct __sk_buff *skb) {
  struct fe_ctx c = {};
  bpf_for_each_map_elem(&fe_percpu, add_value, &c, 0);
  return c.sum & 0xff;
}

static long stop_at_key_3(struct bpf_map *map, __u32 *key, __u64 *value, struct fe_ctx *c) {
  c->visits++;
  return *key == 3;
}

SEC("socket")
int for_each_lru_stop(struct __sk_buff *skb) {
  struct fe_ctx c = {};
  return bpf_for_each_map_elem(&fe_lru, stop_at_key_3, &c, 0) + c.visits;
}

static long double_value(struct bpf_map *map, __u32 *key, __u64 *value, void *c) {
  *value *= 2;
  return 0;
}

SEC("socket")
int for_each_writes_value(struct __sk_buff *skb) {
  return bpf_for_each_map_elem(&fe_array, double_value, 0, 0);
}

static long bump_key(struct bpf_map *map, __u32 *key, __u64 *value, void *c) {
  *(volatile __u32 *)key += 1;
  return 0;
}

SEC("socket")
int for_each_writes_key(struct __sk_buff *skb) {
  return bpf_for_each_map_elem(&fe_hash, bump_key, 0, 0);
}

static long returns_2(struct bpf_map *map, __u32 *key, __u64 *value, void *c) {
  return 2;
}

SEC("socket")
int for_each_returns_2(struct __sk_buff *skb) {
  return bpf_for_each_map_elem(&fe_array, returns_2, 0, 0);
}

SEC("socket")
int for_each_flags_nonzero(struct __sk_buff *skb) {
  struct fe_ctx c = {};
  return bpf_for_each_map_elem(&fe_array, add_value, &c, 1); // -EINVAL at run time
}

static long count_only(struct bpf_map *map, __u32 *key, void *value, struct fe_ctx *c) {
  c->visits++;
  return 0;
}

SEC("socket")
int for_each_prog_array(struct __sk_buff *skb) {
  struct fe_ctx c = {};
  return bpf_for_each_map_elem(&fe_progs, count_only, &c, 0);
}

static long read_past_value(struct bpf_map *map, __u32 *key, __u64 *value, struct fe_ctx *c) {
  c->sum += *(volatile __u64 *)(value + 1); // value is 8 bytes
  return 0;
}

SEC("socket")
int for_each_value_out_of_bounds(struct __sk_buff *skb) {
  struct fe_ctx c = {};
  bpf_for_each_map_elem(&fe_array, read_past_value, &c, 0);
  return c.sum & 0xff;
}

static long nothing(struct bpf_map *map, __u32 *key, __u64 *value, void *c) { return 0; }

SEC("socket")
int for_each_null_ctx(struct __sk_buff *skb) {
  return bpf_for_each_map_elem(&fe_hash, nothing, 0, 0);
}

static long delete_odd(struct bpf_map *map, __u32 *key, __u64 *value, struct fe_ctx *c) {
  if (*key & 1) bpf_map_delete_elem(map, key);
  c->visits++;
  return 0;
}

SEC("socket")
int for_each_deletes_current(struct __sk_buff *skb) {
  struct fe_ctx c = {};
  bpf_for_each_map_elem(&fe_hash, delete_odd, &c, 0);
  return c.visits & 0xff;
}

static long lookup_through_map_arg(struct bpf_map *map, __u32 *key, __u64 *value, struct fe_ctx *c) {
  __u64 *again = bpf_map_lookup_elem(map, key);
  if (again) c->sum += *again;
  return 0;
}

SEC("socket")
int for_each_map_arg_used(struct __sk_buff *skb) {
  struct fe_ctx c = {};
  bpf_for_each_map_elem(&fe_array, lookup_through_map_arg, &c, 0);
  return c.sum & 0xff;
}

// The context counts visits; the caller then indexes an 8-byte buffer with
// the count masked to a byte only: the callback may have run any number of
// times, so the count may be past the buffer.
static long count_visits(struct bpf_map *map, __u32 *key, __u64 *value, struct fe_ctx *c) {
  c->visits++;
  return 0;
}

SEC("socket")
int for_each_ctx_counts_unchecked(struct __sk_buff *skb) {
  struct fe_ctx c = {};
  __u8 buf[8] = {};
  bpf_for_each_map_elem(&fe_array, count_visits, &c, 0);
  return ((volatile __u8 *)buf)[c.visits & 0xff];
}

SEC("socket")
int for_each_rdonly_map_write(struct __sk_buff *skb) {
  return bpf_for_each_map_elem(&fe_rdonly, double_value, 0, 0);
}

SEC("socket")
int for_each_ctx_is_skb(struct __sk_buff *skb) {
  return bpf_for_each_map_elem(&fe_array, nothing, skb, 0); // the context must be on the stack
}

// One call, two maps (which one depends on the packet): the verifier
// builds the callback's state from the one map it recorded for the call.
SEC("socket")
int for_each_two_maps(struct __sk_buff *skb) {
  void *map = &fe_array;
  if (skb->len > 64) map = &fe_hash;
  asm volatile("" : "+r"(map));
  return bpf_for_each_map_elem(map, nothing, 0, 0);
}

// The same with a call per map: fine.
SEC("socket")
int for_each_two_calls(struct __sk_buff *skb) {
  if (skb->len > 64) return bpf_for_each_map_elem(&fe_hash, nothing, 0, 0);
  return bpf_for_each_map_elem(&fe_array, nothing, 0, 0);
}

char _license[] SEC("license") = "GPL";
