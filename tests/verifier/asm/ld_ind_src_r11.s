# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: R11 is invalid
# priv-log: R11 is invalid
# why: LD_IND with a register that does not exist
mov %r6, %r1
.insn 0x40, 0, 11, 0, 0
exit
