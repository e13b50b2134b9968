# type: socket_filter
# priv: accept
# unpriv: accept
# why: twin: division by a register that holds 0 is fine (defined result 0)
mov %r0, 10
mov %r1, 0
div %r0, %r1
exit
