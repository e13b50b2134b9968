# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid zero-sized read
# priv-log: invalid zero-sized read
# map: name=b type=bloom_filter key=0 value=4 entries=64
# why: bpf_map_update_elem on a bloom filter: a zero-byte key
stw [%r10-4], 7
lddw %r1, map:b
mov %r2, %r10
add %r2, -4
mov %r3, %r10
add %r3, -4
mov %r4, 0
call 2
exit
