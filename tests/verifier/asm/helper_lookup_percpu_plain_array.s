# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: cannot pass map_type 2 into func bpf_map_lookup_percpu_elem#195
# priv-log: cannot pass map_type 2 into func bpf_map_lookup_percpu_elem#195
# map: name=a type=array key=4 value=8 entries=4
# why: bpf_map_lookup_percpu_elem takes per-CPU maps only
stw [%r10-4], 1
lddw %r1, map:a
mov %r2, %r10
add %r2, -4
mov %r3, 0
call 195
mov %r0, 0
exit
