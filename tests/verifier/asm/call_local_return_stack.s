# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: cannot return stack pointer to the caller
# priv-log: cannot return stack pointer to the caller
# why: the callee returns a pointer into its own (dead) frame
call local f
ldxdw %r0, [%r0+0]
exit
f:
stdw [%r10-8], 0
mov %r0, %r10
add %r0, -8
exit
