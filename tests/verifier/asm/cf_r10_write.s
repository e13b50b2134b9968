# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: frame pointer is read only
# priv-log: frame pointer is read only
# why: r10 (frame pointer) is read-only
mov %r10, 0
mov %r0, 0
exit
