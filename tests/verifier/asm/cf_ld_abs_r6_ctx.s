# type: socket_filter
# priv: accept
# unpriv: accept
# why: LD_ABS needs the skb in r6
mov %r6, %r1
.insn 0x30, 0, 0, 0, 0
exit
