# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R3 !read_ok
# priv-log: R3 !read_ok
# why: the callee reads r3, never set by the caller
mov %r1, 3
call local f
exit
f:
mov %r0, %r3
exit
