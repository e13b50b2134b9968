# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R10 leaks addr into ctx
# why: storing a pointer into __sk_buff.cb[]
stxdw [%r1+48], %r10
mov %r0, 0
exit
