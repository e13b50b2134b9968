# type: socket_filter
# priv: accept
# unpriv: accept
# why: a subprogram may write a number through a pointer into its caller's stack
mov %r1, %r10
add %r1, -8
stdw [%r10-8], 0
call local f
ldxdw %r0, [%r10-8]
exit
f:
mov %r2, 7
stxdw [%r1+0], %r2
mov %r0, 0
exit
