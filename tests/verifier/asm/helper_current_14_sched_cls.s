# type: sched_cls
# priv: accept
# unpriv: accept
# why: helper 14 (the current task) in a sched_cls program
call 14
mov %r0, 0
exit
