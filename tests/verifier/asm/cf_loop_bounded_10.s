# type: socket_filter
# priv: accept
# unpriv: reject E2BIG
# unpriv-log: BPF program is too large. Processed 1000001 insn
# why: a 10-iteration loop: accepted with CAP_PERFMON; CAP_BPF alone gets the 1M-instruction limit on this kernel
mov %r0, 0
mov %r1, 0
loop:
add %r0, 2
add %r1, 1
jlt %r1, 10, loop
exit
