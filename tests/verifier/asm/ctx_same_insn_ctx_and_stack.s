# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# priv-log: same insn cannot be used with different pointers
# why: one load reads the context on one path and the stack on another
stw [%r10-8], 0
mov %r6, %r1
call 7
jeq %r0, 0, read
mov %r6, %r10
add %r6, -8
read:
ldxw %r0, [%r6+0]
exit
