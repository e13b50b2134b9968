# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 pointer += pointer prohibited
# priv-log: R2 pointer += pointer prohibited
# why: pointer += pointer is prohibited
mov %r2, %r10
add %r2, %r1
mov %r0, 0
exit
