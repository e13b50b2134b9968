# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: expected prog array map for tail call
# priv-log: expected prog array map for tail call
# map: name=m type=hash key=4 value=8 entries=16
# why: bpf_tail_call needs a prog array, not a hash map
lddw %r2, map:m
mov %r3, 0
call 12
mov %r0, 0
exit
