# type: sched_cls
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: program of this type cannot use helper bpf_xdp_load_bytes#189
# priv-log: program of this type cannot use helper bpf_xdp_load_bytes#189
# why: bpf_xdp_load_bytes is an XDP helper
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 8
call 189
mov %r0, 0
exit
