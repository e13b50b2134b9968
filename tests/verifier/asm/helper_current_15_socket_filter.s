# type: socket_filter
# priv: accept
# unpriv: accept
# why: helper 15 (the current task) in a socket_filter program
call 15
mov %r0, 0
exit
