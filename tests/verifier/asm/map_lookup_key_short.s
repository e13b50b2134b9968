# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: invalid read from stack R2 off=-2 size=4
# priv-log: invalid read from stack R2 off=-2 size=4
# map: name=m type=hash key=4 value=8 entries=16
# why: a 4-byte key pointer 2 bytes below the frame pointer runs past it
sth [%r10-2], 0
mov %r2, %r10
add %r2, -2
lddw %r1, map:m
call 1
mov %r0, 0
exit
