# type: socket_filter
# priv: accept
# unpriv: accept
# why: __sk_buff.sk reads as a socket pointer or NULL
ldxdw %r0, [%r1+168]
mov %r0, 0
exit
