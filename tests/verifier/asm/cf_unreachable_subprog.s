# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: unreachable insn 2
# priv-log: unreachable insn 2
# why: a subprogram nobody calls is unreachable
mov %r0, 0
exit
f:
mov %r0, 1
exit
