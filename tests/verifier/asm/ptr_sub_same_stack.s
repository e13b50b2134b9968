# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R2 pointer -= pointer prohibited
# why: stack pointer - stack pointer gives a scalar
mov %r2, %r10
mov %r3, %r10
add %r3, -8
sub %r2, %r3
mov %r0, 0
exit
