# type: sched_cls
# priv: accept
# unpriv: accept
# why: tc programs may write the packet with bpf_skb_store_bytes
mov %r2, 0
stxdw [%r10-8], %r2
mov %r3, %r10
add %r3, -8
mov %r4, 6
mov %r5, 0
call 9
mov %r0, 0
exit
