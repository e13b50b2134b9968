# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R4 !read_ok
# priv-log: R4 !read_ok
# map: name=m type=hash key=4 value=8 entries=16
# why: map_update_elem's flags (r4) never written
stw [%r10-4], 1
stdw [%r10-16], 2
mov %r2, %r10
add %r2, -4
mov %r3, %r10
add %r3, -16
lddw %r1, map:m
call 2
mov %r0, 0
exit
