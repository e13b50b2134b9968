# type: socket_filter
# priv: accept
# unpriv: accept
# why: helper 14 (the current task) in a socket_filter program
call 14
mov %r0, 0
exit
