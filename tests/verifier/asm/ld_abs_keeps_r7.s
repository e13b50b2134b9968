# type: socket_filter
# priv: accept
# unpriv: accept
# why: r6-r9 survive LD_ABS
mov %r6, %r1
mov %r7, 7
.insn 0x30, 0, 0, 0, 0
mov %r0, %r7
exit
