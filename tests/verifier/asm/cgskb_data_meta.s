# type: cgroup_skb
# priv: reject EACCES
# unpriv: reject EACCES
# priv-log: invalid bpf_context access off=140 size=4
# why: cgroup skb programs have no data_meta
ldxw %r2, [%r1+140]
mov %r0, 1
exit
