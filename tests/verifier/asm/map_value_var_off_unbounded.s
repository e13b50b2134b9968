# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: math between map_value pointer and register with unbounded min value is not allowed
# priv-log: math between map_value pointer and register with unbounded min value is not allowed
# map: name=m type=hash key=4 value=8 entries=16
# why: an unchecked variable offset into a value
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxdw %r1, [%r0+0]
add %r0, %r1
ldxb %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
