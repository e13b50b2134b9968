# type: sched_cls
# priv: accept
# unpriv: accept
# why: helper 15 (the current task) in a sched_cls program
call 15
mov %r0, 0
exit
