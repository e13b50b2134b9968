# type: socket_filter
# priv: accept
# unpriv: accept
# why: bpf_skb_load_bytes into an 8-byte stack buffer
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 8
call 26
mov %r0, 0
exit
