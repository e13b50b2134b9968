# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid bpf_context access off=2 size=4
# priv-log: invalid bpf_context access off=2 size=4
# why: a 4-byte read at xdp_md offset 2
ldxw %r0, [%r1+2]
exit
