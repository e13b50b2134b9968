// A program in a section libbpf knows no program type for: opening works,
// loading must fail (libbpf: "missing BPF prog type").
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("foo/bar")
int mystery(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "GPL";
