# type: socket_filter
# priv: accept
# unpriv: accept
# why: twin of cf_jump_into_ldimm64: a conditional jump over both halves
ldxw %r0, [%r1+0]
jeq %r0, 1, +2
lddw %r1, 0x1122334455667788
exit
