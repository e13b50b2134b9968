# type: sched_cls
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: program of this type cannot use helper bpf_xdp_adjust_tail#65
# priv-log: program of this type cannot use helper bpf_xdp_adjust_tail#65
# why: bpf_xdp_adjust_tail is an XDP helper: tc programs cannot call it
mov %r2, -4
call 65
mov %r0, 0
exit
