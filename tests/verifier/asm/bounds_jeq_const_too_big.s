# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 min value is outside of the allowed memory range
# priv-log: R0 min value is outside of the allowed memory range
# map: name=m type=array key=4 value=64 entries=4
# why: twin: the constant 61 + 4 bytes is past a 64-byte value
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxdw %r1, [%r0+0]
jne %r1, 61, out
add %r0, %r1
ldxw %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
