# type: xdp
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: invalid write to stack R3 off=-8 size=16
# priv-log: invalid write to stack R3 off=-8 size=16
# why: bpf_xdp_load_bytes may not write past the stack buffer it is given
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 16
call 189
mov %r0, 2
exit
