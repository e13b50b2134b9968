# type: socket_filter
# priv: accept
# unpriv: accept
# why: LD_IND reads at src_reg + imm
mov %r6, %r1
mov %r7, 14
.insn 0x40, 0, 7, 0, 12
exit
