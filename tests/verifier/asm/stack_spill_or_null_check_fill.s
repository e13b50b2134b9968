# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=hash key=4 value=8 entries=16
# why: a map value or NULL spilled before the check: the filled copy is checked and safe
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
stxdw [%r10-16], %r0
ldxdw %r1, [%r10-16]
jeq %r1, 0, out
ldxdw %r0, [%r1+0]
exit
out:
mov %r0, 0
exit
