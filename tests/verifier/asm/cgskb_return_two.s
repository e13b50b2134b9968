# type: cgroup_skb
# priv: reject EINVAL
# unpriv: reject EINVAL
# priv-log: At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]
# why: cgroup skb (ingress) programs return 0 or 1
mov %r0, 2
exit
