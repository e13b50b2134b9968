# type: sched_cls
# priv: accept
# unpriv: accept
# why: tc programs see data_meta, checked against data
ldxw %r2, [%r1+140]
ldxw %r3, [%r1+76]
mov %r0, 0
mov %r4, %r2
add %r4, 4
jgt %r4, %r3, out
ldxw %r0, [%r2+0]
out:
exit
