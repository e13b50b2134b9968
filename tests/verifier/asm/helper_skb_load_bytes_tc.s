# type: sched_cls
# priv: accept
# unpriv: accept
# why: tc programs may call bpf_skb_load_bytes (tc_cls_act_func_proto)
mov %r2, 12
mov %r3, %r10
add %r3, -8
mov %r4, 8
call 26
mov %r0, 0
exit
