# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: last insn is not an exit or jmp
# priv-log: last insn is not an exit or jmp
# why: a subprogram that falls into the next one
call local f
call local g
exit
f:
mov %r0, 1
g:
mov %r0, 2
exit
