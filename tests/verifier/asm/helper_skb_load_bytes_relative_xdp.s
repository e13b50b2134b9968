# type: xdp
# priv: reject EINVAL
# priv-log: program of this type cannot use helper bpf_skb_load_bytes_relative#68
# unpriv: reject EINVAL
# unpriv-log: program of this type cannot use helper bpf_skb_load_bytes_relative#68
# why: XDP programs have no skb: bpf_skb_load_bytes_relative (68) is not theirs
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 8
mov %r5, 1
call 68
mov %r0, 0
exit
