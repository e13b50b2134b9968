# type: socket_filter
# priv: accept
# unpriv: accept
# why: the context passed to a subprogram stays a context
call local f
exit
f:
ldxw %r0, [%r1+0]
exit
