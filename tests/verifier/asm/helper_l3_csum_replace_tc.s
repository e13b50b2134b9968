# type: sched_cls
# priv: accept
# unpriv: accept
# why: tc programs fix checksums with helper 10
mov %r2, 24
mov %r3, 1
mov %r4, 2
mov %r5, 4
call 10
mov %r0, 0
exit
