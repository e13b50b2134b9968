# type: socket_filter
# priv: accept
# unpriv: accept
# why: socket filters may read __sk_buff.len
ldxw %r0, [%r1+0]
exit
