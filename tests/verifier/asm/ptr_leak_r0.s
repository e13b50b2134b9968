# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R0 leaks addr as return value
# why: returning a pointer leaks an address
mov %r0, %r10
exit
