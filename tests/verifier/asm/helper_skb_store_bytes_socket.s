# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# priv-log: program of this type cannot use helper bpf_skb_store_bytes#9
# unpriv-log: program of this type cannot use helper bpf_skb_store_bytes#9
# why: a socket filter may not change the packet
mov %r2, 0
stxdw [%r10-8], %r2
mov %r3, %r10
add %r3, -8
mov %r4, 6
mov %r5, 0
call 9
mov %r0, 0
exit
