# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: div by zero
# priv-log: div by zero
# why: division by the constant 0 is rejected at load
mov %r0, 10
div %r0, 0
exit
