# type: xdp
# priv: accept
# unpriv: accept
# why: bpf_xdp_adjust_tail is available to XDP
mov %r2, -4
call 65
mov %r0, 2
exit
