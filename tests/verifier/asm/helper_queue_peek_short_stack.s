# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: invalid write to stack R2 off=-4 size=8
# priv-log: invalid write to stack R2 off=-4 size=8
# map: name=q type=queue key=0 value=8 entries=4
# why: bpf_map_peek_elem's value is 8 bytes; r2 = r10-4 has room for 4
lddw %r1, map:q
mov %r2, %r10
add %r2, -4
call 89
mov %r0, 0
exit
