# type: xdp
# priv: accept
# unpriv: accept
# why: bpf_xdp_get_buff_len takes the context and returns a scalar
call 188
exit
