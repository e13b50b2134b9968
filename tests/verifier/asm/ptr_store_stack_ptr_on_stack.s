# type: socket_filter
# priv: accept
# unpriv: accept
# why: a stack pointer spilled to the stack and read back as a pointer
mov %r2, %r10
add %r2, -16
stxdw [%r10-8], %r2
ldxdw %r3, [%r10-8]
stdw [%r3+0], 4
ldxdw %r0, [%r10-16]
exit
