# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: at the time of BPF_LD_ABS|IND R6 != pointer to skb
# priv-log: at the time of BPF_LD_ABS|IND R6 != pointer to skb
# why: r6 a stack pointer, not the skb
mov %r6, %r10
.insn 0x30, 0, 0, 0, 0
exit
