# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: unknown opcode 38
# priv-log: unknown opcode 38
# why: LD_ABS has no double-word form
mov %r6, %r1
.insn 0x38, 0, 0, 0, 0
exit
