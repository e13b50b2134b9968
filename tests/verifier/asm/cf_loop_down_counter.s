# type: socket_filter
# priv: accept
# unpriv: reject E2BIG
# unpriv-log: BPF program is too large. Processed 1000001 insn
# why: a loop counting down from 10 with jne
mov %r0, 0
mov %r1, 10
loop:
add %r0, 3
sub %r1, 1
jne %r1, 0, loop
exit
