// BPF-to-BPF calls: three functions, so func_info has three records that
// must match the subprogram layout, and line_info covers each of them.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 seen = 0;

static __attribute__((noinline)) int square(int x) { return x * x; }

static __attribute__((noinline)) int sum_squares(int a, int b) {
  seen++;
  return square(a) + square(b);
}

SEC("socket")
int calls_main(struct __sk_buff *skb) {
  return sum_squares(skb->len & 7, 3) > 10 ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
