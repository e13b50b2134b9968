# type: kprobe
# priv: accept
# unpriv: reject EPERM
# why: kprobe programs read struct pt_regs, any aligned size
ldxdw %r0, [%r1+160]
ldxw %r2, [%r1+8]
ldxb %r3, [%r1+17]
exit
