# type: sched_cls
# priv: accept
# unpriv: accept
# why: tc programs may write the packet after the bounds check
ldxw %r2, [%r1+76]
ldxw %r3, [%r1+80]
mov %r0, 0
mov %r4, %r2
add %r4, 8
jgt %r4, %r3, out
stdw [%r2+0], 0
out:
exit
