# type: socket_filter
# priv: reject E2BIG
# unpriv: reject E2BIG
# unpriv-log: the call stack of 9 frames is too deep
# priv-log: the call stack of 9 frames is too deep
# why: a function calling itself
call local f
exit
f:
mov %r0, 0
call local f
exit
