# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 min value is outside of the allowed memory range
# priv-log: R2 min value is outside of the allowed memory range
# map: name=s type=stack key=0 value=8 entries=4
# map: name=a type=array key=4 value=16 entries=1
# why: bpf_map_pop_elem would write 8 bytes at offset 12 of a 16-byte map value
stw [%r10-4], 0
lddw %r1, map:a
mov %r2, %r10
add %r2, -4
call 1
jeq %r0, 0, +5
mov %r2, %r0
add %r2, 12
lddw %r1, map:s
call 88
mov %r0, 0
exit
