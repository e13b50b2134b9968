# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=hash key=4 value=8 entries=16
# why: a map lookup inside a subprogram
call local f
exit
f:
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, none
ldxdw %r0, [%r0+0]
exit
none:
mov %r0, 0
exit
