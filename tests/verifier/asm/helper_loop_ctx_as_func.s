# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 type=ctx expected=func
# priv-log: R2 type=ctx expected=func
# why: bpf_loop's callback must be a function pointer, not the context (ARG_PTR_TO_FUNC)
mov %r2, %r1
mov %r1, 4
mov %r3, 0
mov %r4, 0
call 181
mov %r0, 0
exit
