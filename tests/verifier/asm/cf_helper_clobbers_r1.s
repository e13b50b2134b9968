# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R1 !read_ok
# priv-log: R1 !read_ok
# why: r1-r5 are unreadable after a helper call
mov %r1, 5
call 7
mov %r0, %r1
exit
