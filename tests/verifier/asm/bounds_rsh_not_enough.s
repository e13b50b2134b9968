# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 pointer arithmetic of map value goes out of range, prohibited for !root
# priv-log: R0 max value is outside of the allowed memory range
# map: name=m type=array key=4 value=64 entries=4
# why: twin: x >> 25 may be 127
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxw %r1, [%r0+0]
rsh %r1, 25
add %r0, %r1
ldxb %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
