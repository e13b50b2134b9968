# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R6 !read_ok
# priv-log: R6 !read_ok
# why: r6 is not passed to the callee
mov %r6, 3
call local f
exit
f:
mov %r0, %r6
exit
