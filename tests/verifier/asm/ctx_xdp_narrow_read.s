# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid bpf_context access off=12 size=1
# priv-log: invalid bpf_context access off=12 size=1
# why: a 1-byte read of xdp_md.ingress_ifindex
ldxb %r0, [%r1+12]
exit
