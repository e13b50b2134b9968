# type: cgroup_skb
# priv: accept
# unpriv: accept
# why: bpf_skb_load_bytes_relative (68) from the network header in a cgroup_skb program
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 8
mov %r5, 1
call 68
mov %r0, 0
exit
