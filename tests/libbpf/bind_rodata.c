// Two programs and a .rodata that only one of them reads. libbpf binds the
// .rodata map to every program of an object when the kernel (here userbpf)
// supports BPF_PROG_BIND_MAP (its FEAT_PROG_BIND_MAP probe), so that even
// ignores_rodata keeps it alive and lists it in its map_ids.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 threshold = 7;

SEC("socket")
int uses_rodata(struct __sk_buff *skb) {
  return skb->len > threshold;
}

SEC("socket")
int ignores_rodata(struct __sk_buff *skb) {
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
