# type: socket_filter
# priv: accept
# unpriv: accept
# why: LD_IND with a pointer as the offset register
mov %r6, %r1
.insn 0x40, 0, 10, 0, 0
exit
