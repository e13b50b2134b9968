# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=p type=percpu_array key=4 value=16 entries=4
# why: a per-CPU array lookup with a NULL check
stw [%r10-4], 1
mov %r2, %r10
add %r2, -4
lddw %r1, map:p
call 1
jeq %r0, 0, out
ldxdw %r0, [%r0+8]
exit
out:
mov %r0, 0
exit
