# type: socket_filter
# priv: accept
# unpriv: accept
# why: twin: shift by 63 is fine
mov %r0, 1
lsh %r0, 63
exit
