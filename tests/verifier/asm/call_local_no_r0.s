# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 !read_ok
# priv-log: R0 !read_ok
# why: the callee exits without setting r0
call local f
exit
f:
mov %r1, 1
exit
