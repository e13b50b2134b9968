# type: socket_filter
# priv: accept
# unpriv: accept
# why: twin of cf_uninit_reg_read: r2 written first
mov %r2, 7
mov %r0, %r2
exit
