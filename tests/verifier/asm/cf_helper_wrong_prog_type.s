# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: program of this type cannot use helper bpf_xdp_adjust_head#44
# priv-log: program of this type cannot use helper bpf_xdp_adjust_head#44
# why: bpf_xdp_adjust_head (44) is not available to socket filters
mov %r2, 0
call 44
mov %r0, 0
exit
