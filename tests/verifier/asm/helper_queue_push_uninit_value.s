# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: invalid read from stack R2 off=-8 size=8
# map: name=q type=queue key=0 value=8 entries=4
# why: bpf_map_push_elem reads its value: the stack there was never written
lddw %r1, map:q
mov %r2, %r10
add %r2, -8
mov %r3, 0
call 87
mov %r0, 0
exit
