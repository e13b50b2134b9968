# type: xdp
# priv: accept
# unpriv: accept
# why: twin: bpf_xdp_adjust_head with the context
mov %r2, 0
call 44
mov %r0, 2
exit
