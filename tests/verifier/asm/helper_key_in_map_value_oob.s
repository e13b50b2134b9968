# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 min value is outside of the allowed memory range
# priv-log: R2 min value is outside of the allowed memory range
# map: name=m type=hash key=4 value=8 entries=16
# why: a key pointer near the end of a map value: the 4-byte key runs past value_size
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
mov %r2, %r0
add %r2, 6
lddw %r1, map:m
call 1
out:
mov %r0, 0
exit
