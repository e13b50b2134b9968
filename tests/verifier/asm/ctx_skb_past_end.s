# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid bpf_context access off=400 size=4
# priv-log: invalid bpf_context access off=400 size=4
# why: an offset past __sk_buff
ldxw %r0, [%r1+400]
exit
