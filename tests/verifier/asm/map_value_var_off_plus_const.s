# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 max value is outside of the allowed memory range
# priv-log: R0 max value is outside of the allowed memory range
# map: name=m type=hash key=4 value=8 entries=16
# why: variable offset [0,4] plus constant 4, 4-byte read: ends at 12 > 8
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxdw %r1, [%r0+0]
and %r1, 4
add %r0, %r1
ldxw %r0, [%r0+4]
exit
out:
mov %r0, 0
exit
