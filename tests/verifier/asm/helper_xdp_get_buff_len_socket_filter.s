# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: program of this type cannot use helper bpf_xdp_get_buff_len#188
# priv-log: program of this type cannot use helper bpf_xdp_get_buff_len#188
# why: bpf_xdp_get_buff_len is an XDP helper
call 188
exit
