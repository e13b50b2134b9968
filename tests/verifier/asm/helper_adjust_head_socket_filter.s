# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# why: bpf_xdp_adjust_head is an XDP helper
mov %r2, 0
call 44
mov %r0, 0
exit
