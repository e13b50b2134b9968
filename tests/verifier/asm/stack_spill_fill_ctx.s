# type: socket_filter
# priv: accept
# unpriv: accept
# why: a spilled context pointer is filled back as a context pointer
stxdw [%r10-8], %r1
ldxdw %r2, [%r10-8]
ldxw %r0, [%r2+0]
exit
