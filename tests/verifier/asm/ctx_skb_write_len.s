# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid bpf_context access off=0 size=4
# priv-log: invalid bpf_context access off=0 size=4
# why: __sk_buff.len is read-only
mov %r2, 0
stxw [%r1+0], %r2
mov %r0, 0
exit
