# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid write to stack R10 off=0 size=8
# priv-log: invalid write to stack R10 off=0 size=8
# why: a store at or above the frame pointer
stdw [%r10+0], 0
mov %r0, 0
exit
