# type: xdp
# priv: accept
# unpriv: accept
# why: packet memory as a helper's memory argument
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 8
jgt %r4, %r3, out
mov %r1, %r2
mov %r2, 8
mov %r3, 0
mov %r4, 0
mov %r5, 0
call 28
out:
mov %r0, 2
exit
