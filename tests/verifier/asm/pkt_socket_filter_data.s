# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid bpf_context access off=76 size=4
# priv-log: invalid bpf_context access off=76 size=4
# why: socket filters have no direct packet access (__sk_buff.data)
ldxw %r0, [%r1+76]
exit
