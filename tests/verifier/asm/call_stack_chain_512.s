# type: socket_filter
# priv: accept
# unpriv: accept
# why: twin: 256 + 256 bytes along the chain is exactly 512
stdw [%r10-256], 0
call local f
exit
f:
stdw [%r10-256], 0
mov %r0, 0
exit
