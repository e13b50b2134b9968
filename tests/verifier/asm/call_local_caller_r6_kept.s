# type: socket_filter
# priv: accept
# unpriv: accept
# why: the caller's r6 survives a bpf-to-bpf call
mov %r6, 9
call local f
mov %r0, %r6
exit
f:
mov %r6, 1
mov %r0, 0
exit
