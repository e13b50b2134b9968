# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: div by zero
# priv-log: div by zero
# why: signed division (v4) by the constant 0
mov %r0, 10
sdiv %r0, 0
exit
