# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 !read_ok
# priv-log: R2 !read_ok
# why: reading a register never written (r2) is rejected
mov %r0, %r2
exit
