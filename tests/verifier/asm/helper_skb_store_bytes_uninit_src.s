# type: sched_cls
# priv: accept
# unpriv: reject EACCES
# unpriv-log: invalid read from stack R3 off=-8 size=6
# why: the bytes stored are read from the program's memory: uninitialized stack is a leak without CAP_PERFMON
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 6
mov %r5, 0
call 9
mov %r0, 0
exit
