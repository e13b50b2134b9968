# type: socket_filter
# priv: accept
# unpriv: accept
# why: LD_ABS of a half word
mov %r6, %r1
.insn 0x28, 0, 0, 0, 12
exit
