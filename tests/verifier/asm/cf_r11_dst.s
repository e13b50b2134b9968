# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: R11 is invalid
# priv-log: R11 is invalid
# why: r11 does not exist
.insn 0xb7, 11, 0, 0, 0
mov %r0, 0
exit
