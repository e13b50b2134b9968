# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: invalid read from stack R2 off=-4 size=4
# map: name=m type=hash key=4 value=8 entries=16
# why: the key on the stack was never written
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
mov %r0, 0
exit
