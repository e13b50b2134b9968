// A program that writes into .rodata (casting the const away): the map is
// BPF_F_RDONLY_PROG, so the verifier must refuse the store, as the kernel
// does ("write into map forbidden"), and the load fail.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 limit = 10;

SEC("socket")
int write_rodata(struct __sk_buff *skb) {
  *(volatile __u32 *)&limit = skb->len;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
