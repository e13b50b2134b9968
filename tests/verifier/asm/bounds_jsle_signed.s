# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=array key=4 value=64 entries=4
# why: jsle/jsge give signed bounds [0, 63]
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxdw %r1, [%r0+0]
jsle %r1, -1, out
jsge %r1, 64, out
add %r0, %r1
ldxb %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
