# type: socket_filter
# priv: accept
# unpriv: accept
# why: the smallest valid program: r0 set, then exit
mov %r0, 0
exit
