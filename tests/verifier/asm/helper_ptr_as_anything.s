# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R4 leaks addr into helper function
# map: name=m type=hash key=4 value=8 entries=16
# why: a pointer passed as an ARG_ANYTHING argument (map_update_elem's flags)
stw [%r10-4], 1
stdw [%r10-16], 2
mov %r2, %r10
add %r2, -4
mov %r3, %r10
add %r3, -16
mov %r4, %r10
lddw %r1, map:m
call 2
mov %r0, 0
exit
