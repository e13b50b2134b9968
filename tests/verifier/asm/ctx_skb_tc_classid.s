# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid bpf_context access off=72 size=4
# priv-log: invalid bpf_context access off=72 size=4
# why: __sk_buff.tc_classid is not readable from socket filters
ldxw %r0, [%r1+72]
exit
