# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: cannot return stack pointer to the caller
# priv-log: cannot return stack pointer to the caller
# why: a subprogram may not return a stack pointer, not even its caller's (prepare_func_exit is conservative)
mov %r1, %r10
add %r1, -8
call local f
mov %r0, 0
exit
f:
mov %r0, %r1
exit
