# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 pointer arithmetic of map value goes out of range, prohibited for !root
# priv-log: R0 max value is outside of the allowed memory range
# map: name=m type=hash key=4 value=8 entries=16
# why: twin: AND 15 leaves offsets past an 8-byte value
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxdw %r1, [%r0+0]
and %r1, 15
add %r0, %r1
ldxb %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
