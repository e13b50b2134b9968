# type: socket_filter
# priv: reject E2BIG
# unpriv: reject E2BIG
# unpriv-log: BPF program is too large. Processed 1000001 insn
# priv-log: BPF program is too large. Processed 1000001 insn
# why: a loop bound read from the packet length: the verifier cannot prove termination
ldxw %r2, [%r1+0]
mov %r0, 0
mov %r1, 0
loop:
add %r1, 1
jlt %r1, %r2, loop
exit
