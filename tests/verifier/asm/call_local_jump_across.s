# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: jump out of range from insn 1 to 5
# priv-log: jump out of range from insn 1 to 5
# why: a jump from one subprogram into another
mov %r0, 0
ja inside
call local f
exit
f:
mov %r0, 1
inside:
exit
