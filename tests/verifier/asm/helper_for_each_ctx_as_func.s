# type: socket_filter
# map: name=m type=hash key=4 value=8 entries=4
# priv: reject EACCES
# priv-log: R2 type=ctx expected=func
# unpriv: reject EACCES
# unpriv-log: R2 type=ctx expected=func
# why: bpf_for_each_map_elem's callback must be a function pointer, not the context (ARG_PTR_TO_FUNC)
mov %r2, %r1
lddw %r1, map:m
mov %r3, 0
mov %r4, 0
call 164
mov %r0, 0
exit
