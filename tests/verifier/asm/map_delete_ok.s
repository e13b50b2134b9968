# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=hash key=4 value=8 entries=16
# why: map_delete_elem with a key on the stack
stw [%r10-4], 1
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 3
mov %r0, 0
exit
