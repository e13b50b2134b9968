# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R3 leaks addr into helper function
# map: name=p type=percpu_hash key=4 value=8 entries=4
# why: bpf_map_lookup_percpu_elem on a per-CPU hash, NULL checked; the CPU argument is a pointer (a leak without CAP_PERFMON)
stw [%r10-4], 1
lddw %r1, map:p
mov %r2, %r10
add %r2, -4
mov %r3, %r1
call 195
jeq %r0, 0, +1
ldxdw %r0, [%r0]
exit
