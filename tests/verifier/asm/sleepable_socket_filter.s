# type: socket_filter
# flags: sleepable
# priv: reject EINVAL
# unpriv: reject EINVAL
# why: a socket filter cannot be sleepable
mov %r0, 0
exit
