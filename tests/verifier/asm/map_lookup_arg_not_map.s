# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R1 type=scalar expected=map_ptr
# priv-log: R1 type=scalar expected=map_ptr
# why: the first argument of map_lookup_elem must be a map
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
mov %r1, 0
call 1
mov %r0, 0
exit
