# type: socket_filter
# priv: accept
# unpriv: accept
# why: twin of cf_r10_write: reading r10 is fine
mov %r2, %r10
mov %r0, 0
exit
