# type: socket_filter
# priv: accept
# unpriv: reject EINVAL
# unpriv-log: 2: (a5) if r0 < 0xa goto pc-2 infinite loop detected at insn 1
# why: a 10-iteration loop counting in r0: accepted with CAP_PERFMON; CAP_BPF alone gets 'infinite loop detected'
mov %r0, 0
loop:
add %r0, 1
jlt %r0, 10, loop
exit
