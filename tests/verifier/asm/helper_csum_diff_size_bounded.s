# type: xdp
# priv: accept
# unpriv: accept
# why: ARG_CONST_SIZE from a scalar bounded by the buffer
ldxw %r2, [%r1+12]
and %r2, 4
stdw [%r10-8], 0
mov %r1, %r10
add %r1, -8
mov %r3, 0
mov %r4, 0
mov %r5, 0
call 28
mov %r0, 2
exit
