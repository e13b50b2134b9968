# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R1 min value is outside of the allowed memory range
# priv-log: R1 min value is outside of the allowed memory range
# map: name=m type=hash key=4 value=8 entries=16
# why: the subprogram writes past the end of the map value it was given
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
mov %r1, %r0
call local f
out:
mov %r0, 0
exit
f:
stdw [%r1+4], 1
mov %r0, 0
exit
