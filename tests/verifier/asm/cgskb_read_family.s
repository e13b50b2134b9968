# type: cgroup_skb
# priv: accept
# unpriv: accept
# why: cgroup skb programs may read the socket's family and addresses
ldxw %r2, [%r1+88]
ldxw %r3, [%r1+96]
mov %r0, 1
exit
