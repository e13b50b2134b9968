// verdict: loop_ctx_on_stack priv=accept unpriv=accept
// verdict: loop_stop_early priv=accept unpriv=accept
// verdict: loop_callback_returns_2 priv=reject:EINVAL unpriv=reject:EINVAL
// verdict: loop_index_bounds_checked priv=accept unpriv=reject:EACCES
// verdict: loop_index_unchecked priv=reject:EINVAL unpriv=reject:EACCES
// verdict: loop_unknown_count priv=accept unpriv=accept
// verdict: loop_flags_nonzero priv=accept unpriv=accept
// verdict: loop_null_ctx priv=accept unpriv=accept
// verdict: loop_caller_trusts_stale_stack priv=reject:EACCES unpriv=reject:EACCES
// verdict: loop_caller_checks_stack priv=accept unpriv=accept
// verdict: loop_callback_calls_helpers priv=accept unpriv=accept
// verdict: loop_global_callback priv=reject:EINVAL unpriv=reject:EINVAL
// verdict: loop_nested priv=accept unpriv=accept
// verdict: loop_ctx_map_value priv=reject:EACCES unpriv=reject:EACCES
// verdict: loop_ctx_is_skb priv=reject:EACCES unpriv=reject:EACCES
// verdict: loop_count_is_pointer priv=reject:EFAULT unpriv=reject:EACCES
// verdict: loop_tail_call_in_callback priv=reject:EFAULT unpriv=reject:EFAULT
// verdict: loop_frames_add_up priv=accept unpriv=accept
// verdict: loop_count_indexes_stack priv=accept unpriv=reject:EACCES
// bpf_loop (helper 181) and its callbacks as C programs use them: the
// callback's context on the caller's stack, its index, its return value
// (0 go on, 1 stop, anything else refused), nr_loops known or not, and what
// the caller may assume about its stack after the loop (the callback may
// have run any number of times up to nr_loops).
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct sum_ctx {
  __u64 sum;
  __u32 stop_at;
};

static int add_index(__u64 index, void *data) {
  struct sum_ctx *c = data;
  c->sum += index;
  return 0;
}

SEC("socket")
int loop_ctx_on_stack(struct __sk_buff *skb) {
  struct sum_ctx c = {.sum = 0};
  bpf_loop(10, add_index, &c, 0);
  return c.sum & 0xff;
}

static int add_until(__u64 index, void *data) {
  struct sum_ctx *c = data;
  if (index >= c->stop_at) return 1;
  c->sum += index;
  return 0;
}

SEC("socket")
int loop_stop_early(struct __sk_buff *skb) {
  struct sum_ctx c = {.sum = 0, .stop_at = 5};
  long n = bpf_loop(100, add_until, &c, 0);
  return (c.sum + n) & 0xff;
}

static int returns_two(__u64 index, void *data) {
  return 2;
}

SEC("socket")
int loop_callback_returns_2(struct __sk_buff *skb) {
  bpf_loop(4, returns_two, 0, 0);
  return 0;
}

struct buf_ctx {
  __u8 bytes[16];
};

static int fill_checked(__u64 index, void *data) {
  struct buf_ctx *b = data;
  if (index < sizeof(b->bytes)) b->bytes[index] = (__u8)index;
  return 0;
}

SEC("socket")
int loop_index_bounds_checked(struct __sk_buff *skb) {
  struct buf_ctx b = {};
  bpf_loop(16, fill_checked, &b, 0);
  return b.bytes[15];
}

static int fill_unchecked(__u64 index, void *data) {
  struct buf_ctx *b = data;
  b->bytes[index & 0xff] = 1; // the index is any number to the verifier
  return 0;
}

SEC("socket")
int loop_index_unchecked(struct __sk_buff *skb) {
  struct buf_ctx b = {};
  bpf_loop(16, fill_unchecked, &b, 0);
  return b.bytes[0];
}

SEC("socket")
int loop_unknown_count(struct __sk_buff *skb) {
  struct sum_ctx c = {.sum = 0};
  long n = bpf_loop(skb->len, add_index, &c, 0);
  return (c.sum + n) & 0xff;
}

SEC("socket")
int loop_flags_nonzero(struct __sk_buff *skb) {
  struct sum_ctx c = {.sum = 0};
  long n = bpf_loop(3, add_index, &c, 1); // -EINVAL at run time; fine for the verifier
  return n < 0;
}

static int count_calls(__u64 index, void *data) {
  return index > 3;
}

SEC("socket")
int loop_null_ctx(struct __sk_buff *skb) {
  return bpf_loop(8, count_calls, 0, 0);
}

struct slot_ctx {
  __u32 slot;
};

static int move_slot(__u64 index, void *data) {
  struct slot_ctx *c = data;
  c->slot = 100;
  return 0;
}

SEC("socket")
int loop_caller_trusts_stale_stack(struct __sk_buff *skb) {
  __u8 table[8] = {};
  struct slot_ctx c = {.slot = 0};
  bpf_loop(2, move_slot, &c, 0);
  // After one iteration the slot is 100: reading table[c.slot] unchecked is out of bounds.
  return *(volatile __u8 *)&table[c.slot];
}

SEC("socket")
int loop_caller_checks_stack(struct __sk_buff *skb) {
  __u8 table[8] = {};
  struct slot_ctx c = {.slot = 0};
  bpf_loop(2, move_slot, &c, 0);
  if (c.slot >= sizeof(table)) return 0;
  return *(volatile __u8 *)&table[c.slot];
}

static __noinline int bump(__u64 *value, __u64 by) {
  *value += by;
  return 0;
}

static int count_in_map(__u64 index, void *data) {
  __u32 key = 0;
  __u64 *v = bpf_map_lookup_elem(&counters, &key);
  if (!v) return 1;
  bump(v, index);
  return 0;
}

SEC("socket")
int loop_callback_calls_helpers(struct __sk_buff *skb) {
  return bpf_loop(5, count_in_map, 0, 0);
}

__noinline int global_cb(__u64 index, void *data) {
  return 0;
}

SEC("socket")
int loop_global_callback(struct __sk_buff *skb) {
  return bpf_loop(5, global_cb, 0, 0);
}

static int inner(__u64 index, void *data) {
  struct sum_ctx *c = data;
  c->sum++;
  return 0;
}

static int outer(__u64 index, void *data) {
  bpf_loop(3, inner, data, 0);
  return 0;
}

SEC("socket")
int loop_nested(struct __sk_buff *skb) {
  struct sum_ctx c = {.sum = 0};
  bpf_loop(4, outer, &c, 0);
  return c.sum & 0xff;
}

SEC("socket")
int loop_ctx_map_value(struct __sk_buff *skb) {
  __u32 key = 0;
  __u64 *v = bpf_map_lookup_elem(&counters, &key);
  if (!v) return 0;
  return bpf_loop(4, add_index, v, 0); // the context must be on the stack
}

SEC("socket")
int loop_ctx_is_skb(struct __sk_buff *skb) {
  return bpf_loop(4, count_calls, skb, 0);
}

static int touches_nothing_valid(__u64 index, void *data) {
  return *(volatile __u8 *)(long)index & 1; // dereferences a number
}

SEC("socket")
int loop_count_is_pointer(struct __sk_buff *skb) {
  struct sum_ctx c = {.sum = 0};
  // nr_loops from a stack address: a leak without CAP_PERFMON; with it the
  // callback may still run (the low 32 bits are the count) and must be checked.
  return bpf_loop((unsigned long)&c, touches_nothing_valid, &c, 0);
}

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u32);
} jump SEC(".maps");

struct skb_ctx {
  struct __sk_buff *skb;
};

static int tail_call_from_callback(__u64 index, void *data) {
  struct skb_ctx *c = data;
  bpf_tail_call(c->skb, &jump, 0);
  return 0;
}

SEC("socket")
int loop_tail_call_in_callback(struct __sk_buff *skb) {
  struct skb_ctx c = {.skb = skb};
  return bpf_loop(2, tail_call_from_callback, &c, 0);
}

static int deep3(__u64 index, void *data) { return 0; }
static __noinline int deep2(__u64 x) { return bpf_loop(1, deep3, 0, 0) + x; }
static __noinline int deep1(__u64 x) { return deep2(x) + 1; }
static int deep_cb(__u64 index, void *data) {
  deep1(index);
  return 0;
}

SEC("socket")
int loop_frames_add_up(struct __sk_buff *skb) {
  return bpf_loop(1, deep_cb, 0, 0);
}

static int count_up(__u64 index, void *data) {
  struct sum_ctx *c = data;
  c->sum++;
  return 0;
}

// The count the callback keeps is an index after the loop: at most 4 with
// nr_loops 4, inside the 8-byte buffer. The kernel keeps it precise (it
// indexes the stack) and explores the iterations one by one; userbpf's
// first pass widens it at once and fails, the second keeps it exact.
SEC("socket")
int loop_count_indexes_stack(struct __sk_buff *skb) {
  struct sum_ctx c = {.sum = 0};
  volatile __u8 buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  bpf_loop(4, count_up, &c, 0);
  return buf[c.sum];
}

char LICENSE[] SEC("license") = "GPL";
