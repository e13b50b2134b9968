# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid bpf_context access off=0 size=8
# priv-log: invalid bpf_context access off=0 size=8
# why: an 8-byte read of xdp_md.data
ldxdw %r0, [%r1+0]
exit
