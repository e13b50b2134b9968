# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R10 partial copy of pointer
# why: copying the low 32 bits of a pointer
mov32 %r2, %r10
mov %r0, 0
exit
