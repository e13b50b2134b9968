# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=a type=array key=4 value=8 entries=4
# why: an array lookup with a constant in-range key is known not to be NULL: no check needed
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:a
call 1
ldxdw %r0, [%r0+0]
exit
