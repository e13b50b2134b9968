# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: cannot pass map_type 2 into func bpf_map_pop_elem#88
# priv-log: cannot pass map_type 2 into func bpf_map_pop_elem#88
# map: name=a type=array key=4 value=8 entries=4
# why: bpf_map_pop_elem takes queues and stacks only
lddw %r1, map:a
mov %r2, %r10
add %r2, -8
call 88
mov %r0, 0
exit
