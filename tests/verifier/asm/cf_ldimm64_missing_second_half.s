# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: last insn is not an exit or jmp
# priv-log: last insn is not an exit or jmp
# why: an LD_IMM64 as the last instruction has no second half
mov %r0, 0
exit
.insn 0x18, 1, 0, 0, 0
