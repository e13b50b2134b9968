# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=array key=4 value=64 entries=4
# why: w1 &= 63 bounds the zero-extended 64-bit register
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxdw %r1, [%r0+0]
and32 %r1, 63
add %r0, %r1
ldxb %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
