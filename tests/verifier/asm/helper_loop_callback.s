# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: missing btf func_info
# priv-log: missing btf func_info
# why: bpf_loop's callback (BPF_PSEUDO_FUNC) needs BTF func_info, which raw instructions lack
mov %r1, 4
lddw %r2, func:cb
mov %r3, 0
mov %r4, 0
call 181
mov %r0, 0
exit
cb:
mov %r0, 0
exit
