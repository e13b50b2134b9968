# type: xdp
# priv: accept
# unpriv: accept
# why: bpf_get_numa_node_id, bpf_ktime_get_boot_ns and bpf_ktime_get_tai_ns are base helpers every program type has
call 42
mov %r6, %r0
call 125
call 208
mov %r0, 2
exit
