# type: socket_filter
# priv: accept
# unpriv: accept
# why: LD_ABS of a byte with the skb in r6
mov %r6, %r1
.insn 0x30, 0, 0, 0, 12
exit
