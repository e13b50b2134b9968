# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 type=scalar expected=func
# priv-log: R2 type=scalar expected=func
# why: bpf_loop's callback must be a function pointer
mov %r1, 4
mov %r2, 0
mov %r3, 0
mov %r4, 0
call 181
mov %r0, 0
exit
