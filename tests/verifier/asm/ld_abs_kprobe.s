# type: kprobe
# priv: reject EINVAL
# unpriv: reject EPERM
# priv-log: BPF_LD_[ABS|IND] instructions not allowed for this program type
# why: kprobes may not use LD_ABS
mov %r6, %r1
.insn 0x28, 0, 0, 0, 12
exit
