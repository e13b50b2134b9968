# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: BPF_ATOMIC stores into R1 ctx is not allowed
# priv-log: BPF_ATOMIC stores into R1 ctx is not allowed
# why: atomic operations on the context are not allowed
mov %r2, 1
lock add32 [%r1+48], %r2
mov %r0, 0
exit
