# type: socket_filter
# priv: accept
# unpriv: accept
# why: arguments pass in r1-r5 to the callee
mov %r1, 3
mov %r2, 4
call local f
exit
f:
mov %r0, %r1
add %r0, %r2
exit
