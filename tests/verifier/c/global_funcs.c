// verdict: global_ctx_arg priv=accept unpriv=accept
// verdict: global_ctx_arg_not_ctx priv=reject:EINVAL unpriv=reject:EINVAL
// verdict: global_scalar_args priv=accept unpriv=accept
// verdict: global_scalar_arg_gets_pointer priv=reject:EINVAL unpriv=reject:EINVAL
// verdict: global_ptr_null_checked priv=accept unpriv=accept
// verdict: global_ptr_pass_null priv=accept unpriv=accept
// verdict: global_ptr_not_null_checked priv=reject:EACCES unpriv=reject:EACCES
// verdict: global_ptr_too_small priv=reject:EINVAL unpriv=reject:EINVAL
// verdict: global_ptr_scalar_nonzero priv=reject:EINVAL unpriv=reject:EINVAL
// verdict: global_ptr_write_stack priv=accept unpriv=reject:EINVAL
// verdict: global_ptr_map_value priv=accept unpriv=accept
// verdict: global_returns_pointer priv=reject:EINVAL unpriv=reject:EINVAL
// verdict: global_void_ptr_arg priv=reject:EINVAL unpriv=reject:EINVAL
// verdict: global_result_is_unknown priv=reject:EINVAL unpriv=reject:EINVAL
// verdict: static_result_is_known priv=accept unpriv=accept
// verdict: global_void_return priv=reject:EINVAL unpriv=reject:EINVAL
// verdict: global_five_args priv=accept unpriv=accept
// verdict: global_calls_global priv=accept unpriv=accept
// verdict: global_unreached_not_verified priv=accept unpriv=reject:EACCES
// verdict: global_call_chain_too_deep priv=reject:E2BIG unpriv=reject:E2BIG
// verdict: global_call_chain_8_frames priv=accept unpriv=accept
// verdict: global_arg_nonnull priv=accept unpriv=accept
// verdict: global_arg_nonnull_gets_null priv=accept unpriv=accept
// verdict: global_arg_nonnull_maybe_null priv=reject:EINVAL unpriv=reject:EINVAL
// verdict: global_arg_ctx_tag priv=accept unpriv=accept
// verdict: global_xdp_ctx_arg priv=accept unpriv=reject:EACCES
// verdict: global_moves_packet_stale_pointer priv=reject:EACCES unpriv=reject:EACCES
// verdict: global_moves_packet_reload priv=accept unpriv=accept
// Global (non-static) functions: the kernel verifies each one once, on its
// own, with its arguments typed from its BTF prototype (a context pointer, a
// scalar, or memory of the pointee's size that may be NULL), checks at each
// call that the caller's registers match those types, and gives the caller
// an unknown scalar back. Static functions stay verified in the caller's
// context (calls.c).
#include "common.h"

#define __global __noinline __attribute__((used))

// Keeps clang from knowing a value the verifier knows (a constant through a
// register clang cannot see into).
#define opaque(x) ({ __typeof__(x) v_ = (x); asm volatile("" : "+r"(v_)); v_; })

struct pair {
  __u32 a;
  __u32 b;
};

// ---- the context as an argument

__global int gf_ctx_len(struct __sk_buff *skb) { return skb->len; }

SEC("socket")
int global_ctx_arg(struct __sk_buff *skb) { return gf_ctx_len(skb) & 1; }

__global int gf_xdp_size(struct xdp_md *ctx) { return ctx->data_end - ctx->data; }

SEC("xdp")
int global_xdp_ctx_arg(struct xdp_md *ctx) { return gf_xdp_size(ctx) > 0 ? XDP_PASS : XDP_DROP; }

SEC("socket")
int global_ctx_arg_not_ctx(struct __sk_buff *skb) {
  __u64 buf[24] = {};
  // A stack pointer where the prototype says context: refused at the call.
  return gf_ctx_len((struct __sk_buff *)buf) & 1;
}

// ---- scalar arguments

__global int gf_add(int a, __u32 b) { return a + b; }

SEC("socket")
int global_scalar_args(struct __sk_buff *skb) { return gf_add(skb->len, skb->protocol) & 1; }

SEC("socket")
int global_scalar_arg_gets_pointer(struct __sk_buff *skb) {
  // The context pointer where the prototype says int: refused at the call.
  return gf_add((int)(long)skb, 1) & 1;
}

// ---- pointer arguments: memory of the pointee's size, maybe NULL

__global int gf_read_checked(const struct pair *p) {
  if (!p) return 0;
  return p->a + p->b;
}

SEC("socket")
int global_ptr_null_checked(struct __sk_buff *skb) {
  struct pair p = {skb->len, skb->protocol};
  return gf_read_checked(&p) & 1;
}

SEC("socket")
int global_ptr_pass_null(struct __sk_buff *skb) { return gf_read_checked(0) + skb->len > 10; }

__global int gf_read_unchecked(const struct pair *p) { return p->a + p->b; }

SEC("socket")
int global_ptr_not_null_checked(struct __sk_buff *skb) {
  struct pair p = {skb->len, skb->protocol};
  // Called with a valid pointer, but the function is verified for any
  // argument its prototype allows, NULL included.
  return gf_read_unchecked(&p) & 1;
}

SEC("socket")
int global_ptr_too_small(struct __sk_buff *skb) {
  __u32 one = skb->len;
  // 4 bytes of stack where the prototype wants 8 (struct pair).
  return gf_read_checked((const struct pair *)&one) & 1;
}

SEC("socket")
int global_ptr_scalar_nonzero(struct __sk_buff *skb) {
  // A number that is not NULL is not memory.
  return gf_read_checked((const struct pair *)(long)opaque(8)) + skb->len > 10;
}

__global int gf_write(struct pair *p, __u32 v) {
  if (!p) return -1;
  p->a = v;
  p->b = v + 1;
  return 0;
}

SEC("socket")
int global_ptr_write_stack(struct __sk_buff *skb) {
  struct pair p;
  // Uninitialized stack: the call checks the memory is readable and
  // writable, and reading uninitialized stack needs CAP_PERFMON.
  gf_write(&p, skb->len);
  return p.a == p.b;
}

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct pair);
} pairs SEC(".maps");

// A hash map's lookup may return NULL (an array's, with a constant key in
// range, is known not to).
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct pair);
} pairs_by_key SEC(".maps");

SEC("socket")
int global_ptr_map_value(struct __sk_buff *skb) {
  __u32 key = 0;
  struct pair *p = bpf_map_lookup_elem(&pairs_by_key, &key);
  // A map value that may be NULL is fine: the argument may be NULL.
  return gf_write(p, skb->len) & 1;
}

__global long gf_ptr_as_number(const struct pair *p) { return (long)p; }

SEC("socket")
int global_returns_pointer(struct __sk_buff *skb) {
  struct pair p = {skb->len, 0};
  return gf_ptr_as_number(&p) != 0;
}

__global int gf_void_ptr(void *p) { return p != 0; }

SEC("socket")
int global_void_ptr_arg(struct __sk_buff *skb) {
  __u64 x = skb->len;
  return gf_void_ptr(&x);
}

// ---- what the caller gets back: an unknown scalar

// Both return 0, which clang cannot see (so it does not fold the result
// into the caller) but the verifier can.
__global int gf_zero(int x) { return opaque(0) * x; }
static __noinline int static_zero(int x) { return opaque(0) * x; }

SEC("socket")
int global_result_is_unknown(struct __sk_buff *skb) {
  __u32 key = 0;
  struct pair *p = bpf_map_lookup_elem(&pairs, &key);
  if (!p) return 0;
  // Always 0, but the caller only knows "a scalar": unbounded index.
  return ((__u32 *)p)[gf_zero(skb->len)];
}

SEC("socket")
int static_result_is_known(struct __sk_buff *skb) {
  __u32 key = 0;
  struct pair *p = bpf_map_lookup_elem(&pairs, &key);
  if (!p) return 0;
  // The same with a static function: verified in the caller's context, so
  // the caller knows the result is 0.
  return ((__u32 *)p)[static_zero(skb->len)];
}

// ---- prototypes the kernel does not take

__global void gf_void(struct __sk_buff *skb) { skb->mark = 1; }

SEC("socket")
int global_void_return(struct __sk_buff *skb) {
  gf_void(skb);
  return 0;
}

// Struct-by-value arguments and more than 5 arguments never reach the
// kernel from C: clang's BPF backend refuses them ("pass by value not
// supported", "too many args"), so they are not in this corpus.

__global int gf_five(int a, int b, int c, int d, int e) { return a + b + c + d + e; }

SEC("socket")
int global_five_args(struct __sk_buff *skb) { return gf_five(skb->len, 1, 2, 3, skb->protocol) & 1; }

// ---- global calling global, and globals never reached

__global int gf_inner(const struct pair *p) { return p ? p->a : 0; }
__global int gf_outer(const struct pair *p, int x) { return gf_inner(p) + x; }

SEC("socket")
int global_calls_global(struct __sk_buff *skb) {
  struct pair p = {skb->len, 0};
  return gf_outer(&p, 2) & 1;
}

__global int gf_bad_if_verified(const struct pair *p) { return p->a; }

SEC("socket")
int global_unreached_not_verified(struct __sk_buff *skb) {
  struct pair p = {skb->len, 0};
  // The verifier knows this branch is never taken, so the function is never
  // called and never verified (it would be rejected: no NULL check). Without
  // CAP_PERFMON the mispredicted side is explored too: that call counts, and
  // the function is verified and rejected.
  if (opaque(0)) return gf_bad_if_verified(&p);
  return 0;
}

// A call chain through a global function: 9 frames at run time
// (main, gf_chain, chain1..chain7), though each part is verified alone.
static __noinline int chain7(int x) { return x + 7; }
static __noinline int chain6(int x) { return chain7(x) + 6; }
static __noinline int chain5(int x) { return chain6(x) + 5; }
static __noinline int chain4(int x) { return chain5(x) + 4; }
static __noinline int chain3(int x) { return chain4(x) + 3; }
static __noinline int chain2(int x) { return chain3(x) + 2; }
static __noinline int chain1(int x) { return chain2(x) + 1; }
__global int gf_chain(int x) { return chain1(x); }
__global int gf_chain_short(int x) { return chain2(x); }

SEC("socket")
int global_call_chain_too_deep(struct __sk_buff *skb) { return gf_chain(skb->len) & 1; }

SEC("socket")
int global_call_chain_8_frames(struct __sk_buff *skb) { return gf_chain_short(skb->len) & 1; }

// A global function that may move the packet: after the call the caller's
// packet pointers are stale, as after the helper itself.
__global int gf_adjust_head(struct xdp_md *ctx) { return bpf_xdp_adjust_head(ctx, 0); }

SEC("xdp")
int global_moves_packet_stale_pointer(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 1 > end) return XDP_DROP;
  gf_adjust_head(ctx);
  return *(volatile __u8 *)data;
}

SEC("xdp")
int global_moves_packet_reload(struct xdp_md *ctx) {
  gf_adjust_head(ctx);
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 1 > end) return XDP_DROP;
  return *(volatile __u8 *)data;
}

// ---- decl tags (6.8+): arg:nonnull, arg:ctx

__global int gf_nonnull(const struct pair *p __attribute__((btf_decl_tag("arg:nonnull")))) { return p->a; }

SEC("socket")
int global_arg_nonnull(struct __sk_buff *skb) {
  struct pair p = {skb->len, 0};
  return gf_nonnull(&p) & 1;
}

// NULL itself passes the call's check (as for a helper's memory argument).
SEC("socket")
int global_arg_nonnull_gets_null(struct __sk_buff *skb) { return gf_nonnull(0) + skb->len > 1; }

SEC("socket")
int global_arg_nonnull_maybe_null(struct __sk_buff *skb) {
  __u32 key = 0;
  struct pair *p = bpf_map_lookup_elem(&pairs_by_key, &key);
  return gf_nonnull(p) & 1;
}

__global int gf_tagged_ctx(void *ctx __attribute__((btf_decl_tag("arg:ctx")))) {
  return ((struct __sk_buff *)ctx)->len;
}

SEC("socket")
int global_arg_ctx_tag(struct __sk_buff *skb) { return gf_tagged_ctx(skb) & 1; }

char LICENSE[] SEC("license") = "GPL";
