# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=hash key=4 value=8 entries=16
# why: a variable offset bounded by a check (<= 7) into an 8-byte value
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxw %r1, [%r0+0]
jgt %r1, 7, out
add %r0, %r1
ldxb %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
