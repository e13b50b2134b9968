# type: xdp
# priv: reject EINVAL
# unpriv: reject EINVAL
# priv-log: program of this type cannot use helper bpf_skb_load_bytes#26
# unpriv-log: program of this type cannot use helper bpf_skb_load_bytes#26
# why: XDP programs have no skb: bpf_skb_load_bytes is not theirs
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 8
call 26
mov %r0, 2
exit
