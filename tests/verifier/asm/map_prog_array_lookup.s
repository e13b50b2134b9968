# type: xdp
# priv: reject EINVAL
# unpriv: reject EINVAL
# priv-log: cannot pass map_type 3 into func bpf_map_lookup_elem#1
# map: name=p type=prog_array key=4 value=4 entries=4
# why: programs cannot look a program array up
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:p
call 1
mov %r0, 2
exit
