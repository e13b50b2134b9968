# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid zero-sized read
# priv-log: invalid zero-sized read
# map: name=q type=queue key=0 value=8 entries=4
# why: bpf_map_lookup_elem on a queue: its key has zero bytes
stdw [%r10-8], 0
lddw %r1, map:q
mov %r2, %r10
add %r2, -8
call 1
mov %r0, 0
exit
