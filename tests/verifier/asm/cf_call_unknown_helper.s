# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: invalid func unknown#9999
# priv-log: invalid func unknown#9999
# why: a helper id that does not exist
call 9999
mov %r0, 0
exit
