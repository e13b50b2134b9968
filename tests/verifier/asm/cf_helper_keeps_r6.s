# type: socket_filter
# priv: accept
# unpriv: accept
# why: twin: r6-r9 survive a helper call
mov %r6, 5
call 7
mov %r0, %r6
exit
