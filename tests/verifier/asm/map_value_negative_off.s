# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 min value is outside of the allowed memory range
# priv-log: R0 min value is outside of the allowed memory range
# map: name=m type=hash key=4 value=8 entries=16
# why: reading before the start of the value
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxb %r0, [%r0-1]
exit
out:
mov %r0, 0
exit
