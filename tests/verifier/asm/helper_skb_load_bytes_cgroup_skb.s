# type: cgroup_skb
# priv: accept
# unpriv: accept
# why: cgroup skb programs may call bpf_skb_load_bytes (cg_skb_func_proto falls back to sk_filter_func_proto)
mov %r2, 0
mov %r3, %r10
add %r3, -4
mov %r4, 4
call 26
mov %r0, 1
exit
