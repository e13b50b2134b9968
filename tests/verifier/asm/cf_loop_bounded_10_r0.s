# type: socket_filter
# priv: accept
# unpriv: reject EINVAL
# unpriv-log: 2: (a5) if r0 < 0xa goto pc-2 infinite loop detected at insn 1
# why: a 10-iteration loop counting in the returned register
mov %r0, 0
loop:
add %r0, 1
jlt %r0, 10, loop
exit
