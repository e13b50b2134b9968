# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=hash key=4 value=8 entries=16
# why: a copy of the lookup result is checked; the original becomes safe too (same id)
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
mov %r6, %r0
jeq %r6, 0, out
ldxdw %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
