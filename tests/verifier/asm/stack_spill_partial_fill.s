# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid size of register fill
# priv-log: invalid size of register fill
# why: filling 4 bytes of a spilled pointer
stxdw [%r10-8], %r1
ldxw %r2, [%r10-8]
mov %r0, 0
exit
