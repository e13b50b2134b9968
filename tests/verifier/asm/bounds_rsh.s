# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=array key=4 value=64 entries=4
# why: a right shift bounds an unknown u32 (x >> 26 < 64)
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxw %r1, [%r0+0]
rsh %r1, 26
add %r0, %r1
ldxb %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
