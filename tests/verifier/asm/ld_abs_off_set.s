# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: BPF_LD_[ABS|IND] uses reserved fields
# priv-log: BPF_LD_[ABS|IND] uses reserved fields
# why: LD_ABS off is reserved
mov %r6, %r1
.insn 0x20, 0, 0, 1, 0
exit
