# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 pointer arithmetic with *= operator prohibited
# priv-log: R2 pointer arithmetic with *= operator prohibited
# why: pointer *= k is prohibited
mov %r2, %r10
mul %r2, 2
mov %r0, 0
exit
