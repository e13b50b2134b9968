# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: program of this type cannot use helper bpf_trace_printk#6
# priv-log: cannot call GPL-restricted function from non-GPL compatible program
# license: Proprietary
# why: bpf_trace_printk is GPL-only: a non-GPL program may not call it
stw [%r10-4], 0x0a6968
mov %r1, %r10
add %r1, -4
mov %r2, 4
call 6
mov %r0, 0
exit
