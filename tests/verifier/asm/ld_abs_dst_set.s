# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: BPF_LD_[ABS|IND] uses reserved fields
# priv-log: BPF_LD_[ABS|IND] uses reserved fields
# why: LD_ABS always loads into r0: dst_reg is reserved
mov %r6, %r1
.insn 0x20, 1, 0, 0, 0
mov %r0, 0
exit
