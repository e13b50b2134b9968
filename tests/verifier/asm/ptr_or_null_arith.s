# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 pointer arithmetic on map_value_or_null prohibited, null-check it first
# priv-log: R0 pointer arithmetic on map_value_or_null prohibited, null-check it first
# map: name=m type=hash key=4 value=8 entries=16
# why: arithmetic on a map value that may still be NULL
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
add %r0, 4
jeq %r0, 0, out
ldxw %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
