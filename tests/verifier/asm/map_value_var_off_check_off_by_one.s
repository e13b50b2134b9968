# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 pointer arithmetic of map value goes out of range, prohibited for !root
# priv-log: R0 max value is outside of the allowed memory range
# map: name=m type=hash key=4 value=8 entries=16
# why: twin: the bound check allows 8, one past the end
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxw %r1, [%r0+0]
jgt %r1, 8, out
add %r0, %r1
ldxb %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
