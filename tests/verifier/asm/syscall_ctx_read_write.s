# type: syscall
# flags: sleepable
# priv: accept
# unpriv: accept
# why: syscall programs read and write their context (the caller's buffer)
ldxw %r2, [%r1+0]
add %r2, 1
stxw [%r1+0], %r2
mov %r0, 0
exit
