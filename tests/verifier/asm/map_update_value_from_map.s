# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=hash key=4 value=8 entries=16
# why: a map value serves as the value argument of an update
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
mov %r3, %r0
stw [%r10-8], 2
mov %r2, %r10
add %r2, -8
mov %r4, 0
lddw %r1, map:m
call 2
out:
mov %r0, 0
exit
