# type: cgroup_skb
# priv: reject EACCES
# unpriv: reject EACCES
# priv-log: cannot write into packet
# why: cgroup skb programs may not write the packet
ldxw %r2, [%r1+76]
ldxw %r3, [%r1+80]
mov %r0, 1
mov %r4, %r2
add %r4, 1
jgt %r4, %r3, out
stb [%r2+0], 0
out:
exit
