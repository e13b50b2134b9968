# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: unknown opcode 58
# priv-log: unknown opcode 58
# why: LD_IND has no double-word form
mov %r6, %r1
mov %r7, 0
.insn 0x58, 0, 7, 0, 0
exit
