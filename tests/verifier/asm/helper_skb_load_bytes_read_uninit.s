# type: socket_filter
# priv: accept
# unpriv: accept
# why: the helper writes its buffer (even on error, zeroed), so the stack it was given may be read after the call
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 8
call 26
ldxdw %r0, [%r10-8]
exit
