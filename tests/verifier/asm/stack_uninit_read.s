# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: invalid read from stack R10 off=-8 size=8
# why: reading stack bytes that were never written
ldxdw %r0, [%r10-8]
exit
