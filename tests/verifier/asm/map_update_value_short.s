# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: invalid read from stack R3 off=-4 size=8
# priv-log: invalid read from stack R3 off=-4 size=8
# map: name=m type=hash key=4 value=8 entries=16
# why: the value pointer has 4 bytes of stack for an 8-byte value
stw [%r10-4], 1
mov %r2, %r10
add %r2, -4
mov %r3, %r10
add %r3, -4
mov %r4, 0
lddw %r1, map:m
call 2
mov %r0, 0
exit
