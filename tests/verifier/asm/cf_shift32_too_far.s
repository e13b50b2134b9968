# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: invalid shift 32
# priv-log: invalid shift 32
# why: a 32-bit shift by 32 is invalid
mov %r0, 1
rsh32 %r0, 32
exit
