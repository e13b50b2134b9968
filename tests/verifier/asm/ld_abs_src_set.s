# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: BPF_LD_[ABS|IND] uses reserved fields
# priv-log: BPF_LD_[ABS|IND] uses reserved fields
# why: LD_ABS src_reg is reserved (LD_IND uses it)
mov %r6, %r1
mov %r2, 0
.insn 0x20, 0, 2, 0, 0
exit
