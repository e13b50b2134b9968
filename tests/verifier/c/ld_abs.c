// verdict: main_loads priv=accept unpriv=accept
// verdict: static_callee_loads priv=accept unpriv=accept
// verdict: static_callee_early_return_zero priv=accept unpriv=reject:EACCES
// verdict: static_callee_early_return_seen priv=reject:EACCES unpriv=reject:EACCES
// verdict: static_callee_early_return_checked priv=accept unpriv=reject:EACCES
// verdict: global_callee_loads priv=accept unpriv=accept
// verdict: callee_returning_pointer priv=reject:EINVAL unpriv=reject:EINVAL
// verdict: tc_loads priv=accept unpriv=accept
// The legacy packet loads from C: clang's llvm.bpf.load.* intrinsics emit
// BPF_LD | BPF_ABS / BPF_IND (the skb moved into r6 by the compiler). With
// BTF and func_info (libbpf uploads them) a callee may use them too: the
// kernel then also explores the callee's early "return 0" of a load outside
// the packet, and refuses them in a callee that does not return an integer.
#include "common.h"

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

#define __global __noinline __attribute__((used))

// An IPv4 TCP packet's destination port, or 0 (a socket filter sees the
// packet from its network header).
SEC("socket")
int main_loads(struct __sk_buff *skb) {
  if (load_byte(skb, 9) != IPPROTO_TCP) return 0;
  unsigned long long ihl = (load_byte(skb, 0) & 0xf) * 4;
  return load_half(skb, ihl + 2) + load_word(skb, 12);
}

static __noinline int static_proto(struct __sk_buff *skb) {
  return load_byte(skb, 9);
}

SEC("socket")
int static_callee_loads(struct __sk_buff *skb) {
  return static_proto(skb) == IPPROTO_UDP;
}

// The callee's early return gives 0: the caller must expect it.
static __noinline int static_index(struct __sk_buff *skb) {
  return load_byte(skb, 0) & 7;
}

SEC("socket")
int static_callee_early_return_zero(struct __sk_buff *skb) {
  char buf[8] = {};
  int i = static_index(skb);
  buf[i] = 1;
  return buf[1];
}

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, char[8]);
} slots SEC(".maps");

// 8 when the load succeeds; 0 when the byte is not in the packet (the early
// return). The loaded byte is kept from being optimized away.
static __noinline int static_eight(struct __sk_buff *skb) {
  __u64 b = load_byte(skb, 0);
  int eight = 8; // clang must not know the result (it would fold it into the caller)
  asm volatile("" : "+r"(b), "+r"(eight));
  return eight;
}

// v[i - 1] is in bounds for i = 8 only: the kernel explores the callee's
// early return of 0 and refuses the program.
SEC("socket")
int static_callee_early_return_seen(struct __sk_buff *skb) {
  __u32 key = 0;
  char *v = bpf_map_lookup_elem(&slots, &key);
  if (!v) return 0;
  __u64 i = static_eight(skb);
  v[i - 1] = 1;
  return 0;
}

// The same with the 0 handled: accepted, so r0 after the call is known (8 or 0).
SEC("socket")
int static_callee_early_return_checked(struct __sk_buff *skb) {
  __u32 key = 0;
  char *v = bpf_map_lookup_elem(&slots, &key);
  if (!v) return 0;
  __u64 i = static_eight(skb);
  if (i == 0) return 0;
  v[i - 1] = 1;
  return 0;
}

__global int global_proto(struct __sk_buff *skb) {
  return load_byte(skb, 9);
}

SEC("socket")
int global_callee_loads(struct __sk_buff *skb) {
  return global_proto(skb) == IPPROTO_ICMP;
}

static __noinline struct __sk_buff *static_returns_pointer(struct __sk_buff *skb) {
  return load_byte(skb, 9) == IPPROTO_TCP ? skb : 0;
}

SEC("socket")
int callee_returning_pointer(struct __sk_buff *skb) {
  return static_returns_pointer(skb) != 0;
}

SEC("tc")
int tc_loads(struct __sk_buff *skb) {
  return load_half(skb, 12) == ETH_P_IP;
}

char LICENSE[] SEC("license") = "GPL";
