# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R10 partial copy of pointer
# why: sign-extending move of a pointer
movsx832 %r2, %r10
mov %r0, 0
exit
