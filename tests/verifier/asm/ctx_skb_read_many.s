# type: socket_filter
# priv: accept
# unpriv: accept
# why: socket filters may read protocol, mark, priority, ifindex, hash, cb[]
ldxw %r2, [%r1+16]
ldxw %r2, [%r1+8]
ldxw %r2, [%r1+32]
ldxw %r2, [%r1+40]
ldxw %r2, [%r1+68]
ldxw %r0, [%r1+48]
exit
