// verdict: printk_not_gpl priv=reject:EINVAL unpriv=reject:EINVAL
// A GPL-only helper (bpf_trace_printk) from a program that is not GPL.
#include "common.h"

SEC("socket")
int printk_not_gpl(struct __sk_buff *skb) {
  bpf_printk("len %u", skb->len);
  return 0;
}

char LICENSE[] SEC("license") = "Proprietary";
