# type: socket_filter
# priv: accept
# unpriv: accept
# why: twin: the lowest slot of the 512-byte stack
stdw [%r10-512], 0
mov %r0, 0
exit
