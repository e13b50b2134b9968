# type: xdp
# priv: accept
# unpriv: accept
# why: a stack buffer with its exact size
stdw [%r10-8], 0
mov %r1, %r10
add %r1, -8
mov %r2, 8
mov %r3, 0
mov %r4, 0
mov %r5, 0
call 28
mov %r0, 2
exit
