# type: socket_filter
# priv: accept
# unpriv: accept
# why: LD_IND of a half word
mov %r6, %r1
mov %r7, 14
.insn 0x48, 0, 7, 0, -2
exit
