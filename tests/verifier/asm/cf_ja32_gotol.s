# type: socket_filter
# priv: accept
# unpriv: accept
# why: gotol (BPF_JMP32|BPF_JA, 32-bit offset in imm) over an instruction
ldxw %r2, [%r1+0]
mov %r0, 0
jeq %r2, 0, other
ja32 skip
other:
mov %r0, 1
skip:
exit
