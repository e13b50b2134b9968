# type: socket_filter
# priv: accept
# unpriv: accept
# why: LD_ABS of a word
mov %r6, %r1
.insn 0x20, 0, 0, 0, 26
exit
