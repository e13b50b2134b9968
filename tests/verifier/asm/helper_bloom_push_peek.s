# type: xdp
# priv: accept
# unpriv: accept
# map: name=b type=bloom_filter key=0 value=4 entries=64
# why: bpf_map_push_elem then bpf_map_peek_elem on a bloom filter
stw [%r10-4], 7
lddw %r1, map:b
mov %r2, %r10
add %r2, -4
mov %r3, 0
call 87
lddw %r1, map:b
mov %r2, %r10
add %r2, -4
call 89
exit
