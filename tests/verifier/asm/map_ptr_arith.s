# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R1 pointer arithmetic on map_ptr prohibited
# priv-log: R1 pointer arithmetic on map_ptr prohibited
# map: name=m type=hash key=4 value=8 entries=16
# why: arithmetic on the map pointer
lddw %r1, map:m
add %r1, 8
mov %r0, 0
exit
