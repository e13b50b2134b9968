# type: socket_filter
# priv: accept
# unpriv: accept
# why: a negative offset (SKF_NET_OFF) is accepted at load: it is a run-time matter
mov %r6, %r1
.insn 0x30, 0, 0, 0, -1048576
exit
