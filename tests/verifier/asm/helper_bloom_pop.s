# type: xdp
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: cannot pass map_type 30 into func bpf_map_pop_elem#88
# priv-log: cannot pass map_type 30 into func bpf_map_pop_elem#88
# map: name=b type=bloom_filter key=0 value=4 entries=64
# why: a bloom filter has no pop
lddw %r1, map:b
mov %r2, %r10
add %r2, -4
call 88
exit
