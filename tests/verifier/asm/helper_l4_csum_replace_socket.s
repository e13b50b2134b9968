# type: socket_filter
# priv: reject EINVAL
# priv-log: program of this type cannot use helper bpf_l4_csum_replace#11
# unpriv: reject EINVAL
# unpriv-log: program of this type cannot use helper bpf_l4_csum_replace#11
# why: a socket filter may not call helper 11: it changes the packet (tc_cls_act_func_proto only)
mov %r2, 24
mov %r3, 1
mov %r4, 2
mov %r5, 4
call 11
mov %r0, 0
exit
