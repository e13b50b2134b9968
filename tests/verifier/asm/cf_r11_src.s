# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: R11 is invalid
# priv-log: R11 is invalid
# why: r11 as a source register
mov %r0, 0
.insn 0xbf, 0, 11, 0, 0
exit
