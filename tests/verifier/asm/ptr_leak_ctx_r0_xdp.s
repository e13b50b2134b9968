# type: xdp
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R0 leaks addr as return value
# why: returning the context pointer from XDP
mov %r0, %r1
exit
