// verdict: tc_parse_and_mark priv=accept unpriv=accept
// verdict: tc_write_protocol priv=reject:EACCES unpriv=reject:EACCES
// verdict: cgskb_count_tcp priv=accept unpriv=accept
// verdict: cgskb_returns_two priv=reject:EINVAL unpriv=reject:EINVAL
// verdict: kprobe_first_arg priv=accept unpriv=reject:EPERM
// verdict: raw_tp_args priv=accept unpriv=reject:EPERM
// verdict: syscall_counter priv=accept unpriv=reject:EACCES
// The program types beyond socket filters and XDP, as C writes them: tc,
// cgroup skb, kprobe, raw tracepoint and syscall programs.
#include "common.h"
#include <asm/ptrace.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} counter SEC(".maps");

SEC("tc")
int tc_parse_and_mark(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return 2; // TC_ACT_SHOT
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return 0;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end) return 2;
  ip->tos = 0x10; // tc may write the packet
  skb->mark = ip->protocol;
  skb->tc_classid = 7;
  return 0;
}

SEC("tc")
int tc_write_protocol(struct __sk_buff *skb) {
  skb->protocol = 0; // read-only for tc
  return 0;
}

SEC("cgroup_skb/ingress")
int cgskb_count_tcp(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  struct iphdr *ip = data;
  if ((void *)(ip + 1) > data_end) return 1;
  if (ip->protocol == IPPROTO_TCP) {
    __u32 key = 0;
    __u64 *n = bpf_map_lookup_elem(&counter, &key);
    if (n) __sync_fetch_and_add(n, 1);
  }
  return 1;
}

SEC("cgroup_skb/ingress")
int cgskb_returns_two(struct __sk_buff *skb) {
  return skb->len > 100 ? 2 : 1; // ingress programs return 0 or 1
}

SEC("kprobe/do_nothing")
int kprobe_first_arg(struct pt_regs *regs) {
  __u32 key = 0;
  __u64 *n = bpf_map_lookup_elem(&counter, &key);
  if (n) *n += regs->rdi; // x86-64: the first argument
  return 0;
}

SEC("raw_tracepoint/sched_switch")
int raw_tp_args(struct bpf_raw_tracepoint_args *ctx) {
  return ctx->args[0] == ctx->args[1];
}

SEC("syscall")
int syscall_counter(void *ctx) {
  __u32 *word = ctx;
  __u32 key = 0;
  __u64 *n = bpf_map_lookup_elem(&counter, &key);
  if (n) *n += 1;
  return word ? 0 : 1; // a pointer comparison: root only
}

char LICENSE[] SEC("license") = "GPL";
