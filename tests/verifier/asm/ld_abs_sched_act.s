# type: sched_act
# priv: accept
# unpriv: accept
# why: tc actions may use LD_ABS
mov %r6, %r1
.insn 0x28, 0, 0, 0, 12
exit
