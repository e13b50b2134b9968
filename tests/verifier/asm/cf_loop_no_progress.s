# type: socket_filter
# priv: reject E2BIG
# unpriv: reject EFAULT
# unpriv-log: The sequence of 8193 jumps is too complex.
# priv-log: BPF program is too large. Processed 1000001 insn
# why: a loop whose counter never changes while r0 grows: no state repeats, so exploration runs into the limits
mov %r0, 0
mov %r1, 0
loop:
add %r0, 1
jlt %r1, 10, loop
exit
