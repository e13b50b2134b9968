# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: unreachable insn 2
# priv-log: unreachable insn 2
# why: an instruction no path reaches is rejected
mov %r0, 0
exit
mov %r0, 1
exit
