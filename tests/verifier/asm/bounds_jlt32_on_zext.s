# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=array key=4 value=64 entries=4
# why: twin: a 32-bit check bounds a zero-extended 32-bit load
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxw %r1, [%r0+0]
jge32 %r1, 64, out
add %r0, %r1
ldxb %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
