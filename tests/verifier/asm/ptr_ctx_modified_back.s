# type: socket_filter
# priv: accept
# unpriv: accept
# why: the context pointer moved and moved back is the context again
add %r1, 4
add %r1, -4
ldxw %r0, [%r1+0]
exit
