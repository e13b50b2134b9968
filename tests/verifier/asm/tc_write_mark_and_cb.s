# type: sched_cls
# priv: accept
# unpriv: accept
# why: tc programs may write __sk_buff.mark, priority, tc_index and cb[]
stw [%r1+8], 1
stw [%r1+32], 2
stw [%r1+44], 3
stw [%r1+48], 4
mov %r0, 0
exit
