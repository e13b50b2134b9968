# type: cgroup_skb
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: BPF_LD_[ABS|IND] instructions not allowed for this program type
# priv-log: BPF_LD_[ABS|IND] instructions not allowed for this program type
# why: cgroup skb programs may not use LD_ABS
mov %r6, %r1
.insn 0x28, 0, 0, 0, 12
mov %r0, 1
exit
