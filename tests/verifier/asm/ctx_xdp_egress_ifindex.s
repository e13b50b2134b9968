# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid bpf_context access off=20 size=4
# priv-log: invalid bpf_context access off=20 size=4
# why: xdp_md.egress_ifindex needs the devmap attach type
ldxw %r0, [%r1+20]
exit
