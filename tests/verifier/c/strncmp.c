// verdict: strncmp_rodata priv=accept unpriv=accept
// verdict: strncmp_data_section priv=reject:EACCES unpriv=reject:EACCES
// verdict: strncmp_zero_size priv=reject:EACCES unpriv=reject:EACCES
// verdict: strncmp_nul_in_next_constant priv=accept unpriv=accept
// bpf_strncmp (helper 182) as programs use it: a buffer on the stack
// compared with a string constant, which libbpf puts in .rodata (a frozen
// map programs may only read, as the helper's third argument must be).
// Also: a string in .data (writable: refused), a zero size, and four bytes
// without a NUL of their own, which the verifier accepts because a NUL
// follows somewhere in the rest of .rodata (it checks up to the value's end).
#include "common.h"

static const char shell[] = "bash";
char writable_name[8] = "bash";
const volatile char tail_no_nul[4] = {'a', 'b', 'c', 'd'};

SEC("socket")
int strncmp_rodata(struct __sk_buff *skb) {
  char name[8] = {};
  if (bpf_skb_load_bytes(skb, 0, name, sizeof(name)) < 0) return 0;
  return bpf_strncmp(name, sizeof(name), shell) == 0;
}

SEC("socket")
int strncmp_data_section(struct __sk_buff *skb) {
  char name[8] = {};
  if (bpf_skb_load_bytes(skb, 0, name, sizeof(name)) < 0) return 0;
  return bpf_strncmp(name, sizeof(name), writable_name) == 0;
}

SEC("socket")
int strncmp_zero_size(struct __sk_buff *skb) {
  char name[8] = {};
  volatile __u32 size = 0;
  return bpf_strncmp(name, size, shell) == 0;
}

SEC("socket")
int strncmp_nul_in_next_constant(struct __sk_buff *skb) {
  char name[8] = {};
  if (bpf_skb_load_bytes(skb, 0, name, sizeof(name)) < 0) return 0;
  return bpf_strncmp(name, sizeof(name), (const char *)tail_no_nul) == 0;
}

char LICENSE[] SEC("license") = "GPL";
