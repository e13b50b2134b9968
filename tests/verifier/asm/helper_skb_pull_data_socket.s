# type: socket_filter
# priv: reject EINVAL
# priv-log: program of this type cannot use helper bpf_skb_pull_data#39
# unpriv: reject EINVAL
# unpriv-log: program of this type cannot use helper bpf_skb_pull_data#39
# why: a socket filter may not call bpf_skb_pull_data (tc_cls_act_func_proto has it, sk_filter_func_proto not)
mov %r2, 14
call 39
mov %r0, 0
exit
