# type: cgroup_skb
# priv: accept
# unpriv: accept
# why: cgroup skb programs may read the packet after the bounds check
ldxw %r2, [%r1+76]
ldxw %r3, [%r1+80]
mov %r0, 1
mov %r4, %r2
add %r4, 1
jgt %r4, %r3, out
ldxb %r0, [%r2+0]
and %r0, 1
out:
exit
