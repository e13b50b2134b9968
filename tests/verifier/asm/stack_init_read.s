# type: socket_filter
# priv: accept
# unpriv: accept
# why: twin: the slot is written first
stdw [%r10-8], 3
ldxdw %r0, [%r10-8]
exit
