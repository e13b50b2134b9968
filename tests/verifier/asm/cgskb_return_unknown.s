# type: cgroup_skb
# priv: reject EINVAL
# unpriv: reject EINVAL
# why: cgroup skb programs must return a value known to be 0 or 1
ldxw %r0, [%r1+0]
exit
