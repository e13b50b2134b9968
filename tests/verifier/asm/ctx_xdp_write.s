# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid bpf_context access off=12 size=4
# priv-log: invalid bpf_context access off=12 size=4
# why: xdp_md is read-only
stw [%r1+12], 0
mov %r0, 2
exit
