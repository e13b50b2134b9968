# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=hash key=4 value=8 entries=16
# why: the original is checked, a copy filled from the stack after the check is checked too (same id)
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
stxdw [%r10-16], %r0
jeq %r0, 0, out
ldxdw %r1, [%r10-16]
ldxdw %r0, [%r1+0]
exit
out:
mov %r0, 0
exit
