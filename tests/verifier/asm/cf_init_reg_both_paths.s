# type: socket_filter
# priv: accept
# unpriv: accept
# why: twin of cf_uninit_reg_one_path: r3 written on both paths
ldxw %r2, [%r1+0]
mov %r3, 2
jeq %r2, 0, skip
mov %r3, 1
skip:
mov %r0, %r3
exit
