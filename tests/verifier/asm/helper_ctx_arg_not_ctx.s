# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R1 type=fp expected=ctx
# priv-log: R1 type=fp expected=ctx
# why: bpf_xdp_adjust_head's first argument must be the context
mov %r1, %r10
mov %r2, 0
call 44
mov %r0, 2
exit
