# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: invalid shift 64
# priv-log: invalid shift 64
# why: a 64-bit shift by the constant 64 is invalid
mov %r0, 1
lsh %r0, 64
exit
