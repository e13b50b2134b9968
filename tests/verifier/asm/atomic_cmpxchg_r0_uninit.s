# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 !read_ok
# priv-log: R0 !read_ok
# why: cmpxchg compares with r0, which must be initialized
stdw [%r10-8], 0
mov %r1, 1
lock cmpxchg [%r10-8], %r1
exit
