# type: sched_cls
# priv: accept
# unpriv: accept
# why: bpf_csum_diff is a tc helper
mov %r1, 0
mov %r2, 0
mov %r3, 0
mov %r4, 0
mov %r5, 0
call 28
mov %r0, 0
exit
