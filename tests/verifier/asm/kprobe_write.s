# type: kprobe
# priv: reject EACCES
# unpriv: reject EPERM
# priv-log: invalid bpf_context access off=0 size=8
# why: kprobe programs may not write pt_regs
stdw [%r1+0], 0
mov %r0, 0
exit
