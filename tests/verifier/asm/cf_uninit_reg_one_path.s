# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R3 !read_ok
# priv-log: R3 !read_ok
# why: r3 is written on one path only, read after the join
ldxw %r2, [%r1+0]
jeq %r2, 0, skip
mov %r3, 1
skip:
mov %r0, %r3
exit
