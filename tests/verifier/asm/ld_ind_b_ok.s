# type: socket_filter
# priv: accept
# unpriv: accept
# why: LD_IND of a byte
mov %r6, %r1
mov %r7, 14
.insn 0x50, 0, 7, 0, 0
exit
