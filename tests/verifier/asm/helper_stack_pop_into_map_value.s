# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=s type=stack key=0 value=8 entries=4
# map: name=a type=array key=4 value=16 entries=1
# why: bpf_map_pop_elem writes an array's map value (8 of its 16 bytes, at offset 8)
stw [%r10-4], 0
lddw %r1, map:a
mov %r2, %r10
add %r2, -4
call 1
jeq %r0, 0, +5
mov %r2, %r0
add %r2, 8
lddw %r1, map:s
call 88
mov %r0, 0
exit
