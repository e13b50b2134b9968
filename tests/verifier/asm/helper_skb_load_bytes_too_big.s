# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: invalid write to stack R3 off=-8 size=16
# priv-log: invalid write to stack R3 off=-8 size=16
# why: bpf_skb_load_bytes of 16 bytes into fp-8
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 16
call 26
mov %r0, 0
exit
