# type: xdp
# priv: accept
# unpriv: accept
# why: bpf_xdp_load_bytes copies packet bytes into the stack, which is initialised afterwards
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 8
call 189
ldxdw %r0, [%r10-8]
mov %r0, 2
exit
