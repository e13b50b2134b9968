# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=array key=4 value=64 entries=4
# why: (x & 15) << 2 is at most 60
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxdw %r1, [%r0+0]
and %r1, 15
lsh %r1, 2
add %r0, %r1
ldxw %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
