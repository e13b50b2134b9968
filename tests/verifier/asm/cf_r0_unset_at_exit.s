# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 !read_ok
# priv-log: R0 !read_ok
# why: r0 must be initialized at exit
exit
