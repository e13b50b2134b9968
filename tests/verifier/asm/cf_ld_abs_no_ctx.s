# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: at the time of BPF_LD_ABS|IND R6 != pointer to skb
# priv-log: at the time of BPF_LD_ABS|IND R6 != pointer to skb
# why: LD_ABS with r6 not the context
mov %r6, 0
.insn 0x30, 0, 0, 0, 0
exit
