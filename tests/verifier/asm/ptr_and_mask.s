# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 bitwise operator &= on pointer prohibited
# priv-log: R2 bitwise operator &= on pointer prohibited
# why: bitwise AND on a pointer is prohibited
mov %r2, %r10
and %r2, -8
mov %r0, 0
exit
