# type: xdp
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: BPF_LD_[ABS|IND] instructions not allowed for this program type
# priv-log: BPF_LD_[ABS|IND] instructions not allowed for this program type
# why: the program type is checked before the reserved fields
mov %r6, %r1
.insn 0x20, 1, 0, 0, 0
mov %r0, 0
exit
