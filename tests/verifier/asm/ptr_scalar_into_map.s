# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=hash key=4 value=8 entries=16
# why: twin: storing a scalar into a map value
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
mov %r1, 42
stxdw [%r0+0], %r1
out:
mov %r0, 0
exit
