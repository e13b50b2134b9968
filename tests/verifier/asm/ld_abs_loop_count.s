# type: socket_filter
# priv: accept
# unpriv: accept
# why: several LD_ABS/LD_IND in a row, result combined
mov %r6, %r1
.insn 0x30, 0, 0, 0, 0
mov %r7, %r0
.insn 0x28, 0, 0, 0, 2
add %r7, %r0
mov %r8, 1
.insn 0x40, 0, 8, 0, 3
add %r0, %r7
exit
