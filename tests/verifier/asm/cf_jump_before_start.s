# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: jump out of range from insn 1 to -1
# priv-log: jump out of range from insn 1 to -1
# why: a jump before the first instruction
mov %r0, 0
ja -3
exit
