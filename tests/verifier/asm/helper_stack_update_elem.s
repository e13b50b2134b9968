# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid zero-sized read
# priv-log: invalid zero-sized read
# map: name=s type=stack key=0 value=8 entries=4
# why: bpf_map_update_elem on a stack: a zero-byte key, then the map type
stdw [%r10-8], 0
lddw %r1, map:s
mov %r2, %r10
add %r2, -8
mov %r3, %r10
add %r3, -8
mov %r4, 0
call 2
mov %r0, 0
exit
