# type: socket_filter
# priv: accept
# unpriv: accept
# why: an 8-byte read spanning two 4-byte writes
stw [%r10-8], 1
stw [%r10-4], 2
ldxdw %r0, [%r10-8]
exit
