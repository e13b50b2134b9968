# type: socket_filter
# priv: accept
# unpriv: accept
# why: twin: cmpxchg with r0 set
stdw [%r10-8], 0
mov %r1, 1
mov %r0, 0
lock cmpxchg [%r10-8], %r1
exit
