# type: socket_filter
# priv: accept
# unpriv: accept
# why: modulo by a register of unknown value is fine
ldxw %r1, [%r1+0]
mov %r0, 10
mod %r0, %r1
exit
