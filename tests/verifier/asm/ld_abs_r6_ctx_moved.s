# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: dereference of modified ctx ptr R6 off=4 disallowed
# priv-log: dereference of modified ctx ptr R6 off=4 disallowed
# why: r6 must be the context itself, not moved
mov %r6, %r1
add %r6, 4
.insn 0x30, 0, 0, 0, 0
exit
