# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=q type=queue key=0 value=8 entries=4
# why: bpf_map_push_elem, then pop and peek into the stack (written by the helper, then read)
stdw [%r10-8], 7
lddw %r1, map:q
mov %r2, %r10
add %r2, -8
mov %r3, 0
call 87
lddw %r1, map:q
mov %r2, %r10
add %r2, -16
call 88
lddw %r1, map:q
mov %r2, %r10
add %r2, -24
call 89
ldxdw %r0, [%r10-16]
ldxdw %r1, [%r10-24]
add %r0, %r1
exit
