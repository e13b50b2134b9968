# type: cgroup_skb
# priv: reject EACCES
# unpriv: reject EACCES
# priv-log: invalid bpf_context access off=44 size=4
# why: cgroup skb programs may not write tc_index
stw [%r1+44], 1
mov %r0, 1
exit
