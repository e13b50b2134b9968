# type: socket_filter
# priv: accept
# unpriv: accept
# why: a 4-byte fill of an 8-byte spilled scalar
stdw [%r10-8], 7
ldxw %r0, [%r10-8]
exit
