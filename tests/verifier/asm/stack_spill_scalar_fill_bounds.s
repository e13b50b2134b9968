# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=a type=array key=4 value=8 entries=4
# why: a spilled bounded scalar keeps its bounds after the fill
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:a
call 1
jeq %r0, 0, out
mov %r1, 7
stxdw [%r10-16], %r1
ldxdw %r1, [%r10-16]
add %r0, %r1
ldxb %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
