# type: socket_filter
# priv: accept
# unpriv: accept
# why: twin: stack pointer + constant, then a store through it
mov %r2, %r10
add %r2, -8
stdw [%r2+0], 1
mov %r0, 0
exit
