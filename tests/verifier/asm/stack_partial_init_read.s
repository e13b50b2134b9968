# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: invalid read from stack off -8+4 size 8
# why: reading 8 bytes of which only 4 were written
stw [%r10-8], 3
ldxdw %r0, [%r10-8]
exit
