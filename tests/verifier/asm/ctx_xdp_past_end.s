# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid bpf_context access off=24 size=4
# priv-log: invalid bpf_context access off=24 size=4
# why: an offset past xdp_md
ldxw %r0, [%r1+24]
exit
