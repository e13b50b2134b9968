# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R5 !read_ok
# priv-log: R5 !read_ok
# why: an ALU source register that was never written is rejected
mov %r0, 1
add %r0, %r5
exit
