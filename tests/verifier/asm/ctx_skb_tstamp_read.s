# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid bpf_context access off=152 size=8
# priv-log: invalid bpf_context access off=152 size=8
# why: __sk_buff.tstamp is a u64 field
ldxdw %r0, [%r1+152]
exit
