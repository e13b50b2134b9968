# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid size of register spill
# priv-log: invalid size of register spill
# why: a 4-byte store of a pointer to the stack
stxw [%r10-8], %r1
mov %r0, 0
exit
