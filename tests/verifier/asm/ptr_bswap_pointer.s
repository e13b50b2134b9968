# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R2 pointer arithmetic prohibited
# why: byte-swapping a pointer
mov %r2, %r10
be64 %r2
mov %r0, 0
exit
