# type: socket_filter
# priv: reject EINVAL
# priv-log: cannot spill pointers to stack into stack frame of the caller
# unpriv: reject EINVAL
# unpriv-log: cannot spill pointers to stack into stack frame of the caller
# why: a subprogram stores a pointer to its own stack into its caller's stack, where it would outlive the frame
mov %r1, %r10
add %r1, -8
stdw [%r10-8], 0
call local f
ldxdw %r0, [%r10-8]
mov %r0, 0
exit
f:
mov %r2, %r10
add %r2, -16
stdw [%r10-16], 0
stxdw [%r1+0], %r2
mov %r0, 0
exit
