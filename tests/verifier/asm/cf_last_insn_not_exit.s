# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: last insn is not an exit or jmp
# priv-log: last insn is not an exit or jmp
# why: the last instruction must be exit or a jump
ldxw %r0, [%r1+0]
jeq %r0, 0, +1
exit
mov %r0, 1
