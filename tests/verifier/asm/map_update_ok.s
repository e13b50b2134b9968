# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=hash key=4 value=8 entries=16
# why: map_update_elem with key and value on the stack
stw [%r10-4], 1
stdw [%r10-16], 2
mov %r2, %r10
add %r2, -4
mov %r3, %r10
add %r3, -16
mov %r4, 0
lddw %r1, map:m
call 2
mov %r0, 0
exit
