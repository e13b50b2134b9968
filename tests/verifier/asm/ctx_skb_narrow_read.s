# type: socket_filter
# priv: accept
# unpriv: accept
# why: a 2-byte read of __sk_buff.protocol
ldxh %r0, [%r1+16]
exit
