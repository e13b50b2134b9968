# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R1 leaks addr into helper function
# priv-log: R2 type=scalar expected=func
# why: nr_loops is ARG_ANYTHING: a pointer there leaks it without CAP_PERFMON (checked before the callback)
mov %r1, %r10
mov %r2, 0
mov %r3, 0
mov %r4, 0
call 181
mov %r0, 0
exit
