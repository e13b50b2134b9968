# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=hash key=4 value=8 entries=16
# why: twin: the NULL check makes r0 a map value
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxdw %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
