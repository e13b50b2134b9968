# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid bpf_context access off=8 size=4
# priv-log: invalid bpf_context access off=8 size=4
# why: socket filters may not write __sk_buff.mark
stw [%r1+8], 1
mov %r0, 0
exit
