# type: socket_filter
# priv: accept
# unpriv: reject EINVAL
# unpriv-log: program of this type cannot use helper bpf_trace_printk#6
# license: GPL
# why: twin: bpf_trace_printk with a GPL license (needs CAP_PERFMON)
stw [%r10-4], 0x0a6968
mov %r1, %r10
add %r1, -4
mov %r2, 4
call 6
mov %r0, 0
exit
