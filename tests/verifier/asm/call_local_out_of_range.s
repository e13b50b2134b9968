# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: call to invalid destination
# priv-log: call to invalid destination
# why: a call target past the end
call local +5
mov %r0, 0
exit
