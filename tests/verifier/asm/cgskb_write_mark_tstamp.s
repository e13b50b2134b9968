# type: cgroup_skb
# priv: accept
# unpriv: accept
# why: cgroup skb programs may write mark, priority, cb[] and tstamp
stw [%r1+8], 1
stw [%r1+32], 2
stw [%r1+52], 3
stdw [%r1+152], 4
mov %r0, 1
exit
