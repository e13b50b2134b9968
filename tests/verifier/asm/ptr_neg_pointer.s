# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R2 pointer arithmetic prohibited
# why: negating a pointer
mov %r2, %r10
neg %r2
mov %r0, 0
exit
