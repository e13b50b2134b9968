# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: jump into the middle of ldimm64 insn 2
# priv-log: jump into the middle of ldimm64 insn 2
# why: a conditional jump into the second half of an LD_IMM64
ldxw %r0, [%r1+0]
jeq %r0, 1, +1
lddw %r1, 0x1122334455667788
exit
