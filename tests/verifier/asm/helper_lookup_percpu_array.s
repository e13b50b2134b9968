# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 invalid mem access 'map_value_or_null'
# priv-log: R0 invalid mem access 'map_value_or_null'
# map: name=p type=percpu_array key=4 value=8 entries=4
# why: bpf_map_lookup_percpu_elem on a per-CPU array, a constant key: the value may still be NULL (the CPU)
stw [%r10-4], 1
lddw %r1, map:p
mov %r2, %r10
add %r2, -4
mov %r3, 0
call 195
ldxdw %r0, [%r0]
exit
