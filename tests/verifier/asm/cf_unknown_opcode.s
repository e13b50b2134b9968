# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: unknown opcode ff
# priv-log: unknown opcode ff
# why: an opcode the ISA does not define
.insn 0xff, 0, 0, 0, 0
mov %r0, 0
exit
