# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: infinite loop detected at insn 2
# priv-log: infinite loop detected at insn 2
# why: a conditional jump to itself with an unchanged state
mov %r0, 0
mov %r1, 0
loop:
jlt %r1, 10, loop
exit
