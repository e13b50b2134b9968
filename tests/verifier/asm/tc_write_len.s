# type: sched_cls
# priv: reject EACCES
# unpriv: reject EACCES
# priv-log: invalid bpf_context access off=0 size=4
# why: tc programs may not write __sk_buff.len
stw [%r1+0], 1
mov %r0, 0
exit
