# type: xdp
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: BPF_LD_[ABS|IND] instructions not allowed for this program type
# priv-log: BPF_LD_[ABS|IND] instructions not allowed for this program type
# why: LD_ABS is for socket-buffer programs, not XDP
mov %r6, %r1
.insn 0x30, 0, 0, 0, 0
exit
