# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: jump out of range from insn 1 to 5
# priv-log: jump out of range from insn 1 to 5
# why: a jump past the end of the program
mov %r0, 0
ja +3
exit
