# type: socket_filter
# priv: accept
# unpriv: accept
# why: a bpf-to-bpf call returning a value
call local f
exit
f:
mov %r0, 1
exit
