// A queue and a stack as programs use them: an XDP program queues the length
// of every packet (the oldest dropped when the queue is full) and drops a
// packet as long as the one before it, remembered on the stack. libbpf
// creates both maps without BTF (it strips BTF from queues and stacks).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_QUEUE);
  __uint(max_entries, 4);
  __type(value, __u32);
} lengths SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_STACK);
  __uint(max_entries, 8);
  __type(value, __u64);
} seen SEC(".maps");

SEC("xdp")
int queue_lengths(struct xdp_md *ctx) {
  __u32 len = ctx->data_end - ctx->data;
  bpf_map_push_elem(&lengths, &len, BPF_EXIST);
  __u64 last = 0;
  if (bpf_map_peek_elem(&seen, &last) == 0 && last == len) {
    bpf_map_pop_elem(&seen, &last);
    return XDP_DROP;
  }
  last = len;
  if (bpf_map_push_elem(&seen, &last, 0) != 0) return XDP_ABORTED;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
