# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: jump out of range from insn 1 to 7
# priv-log: jump out of range from insn 1 to 7
# why: a conditional jump past the end
mov %r0, 0
jeq %r0, 1, +5
exit
