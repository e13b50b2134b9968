# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R1 type=fp expected=ctx
# priv-log: R1 type=fp expected=ctx
# why: bpf_xdp_adjust_tail's first argument must be the context
mov %r1, %r10
add %r1, -8
mov %r2, 4
call 65
mov %r0, 2
exit
