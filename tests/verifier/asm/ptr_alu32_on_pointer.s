# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 32-bit pointer arithmetic prohibited
# priv-log: R2 32-bit pointer arithmetic prohibited
# why: 32-bit arithmetic on a pointer
mov %r2, %r10
add32 %r2, 8
mov %r0, 0
exit
