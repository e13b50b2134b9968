# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: cannot pass map_type 1 into func bpf_map_push_elem#87
# priv-log: cannot pass map_type 1 into func bpf_map_push_elem#87
# map: name=h type=hash key=4 value=8 entries=4
# why: bpf_map_push_elem takes queues, stacks and bloom filters only
stdw [%r10-8], 0
lddw %r1, map:h
mov %r2, %r10
add %r2, -8
mov %r3, 0
call 87
mov %r0, 0
exit
