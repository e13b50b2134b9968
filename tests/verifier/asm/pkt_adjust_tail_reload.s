# type: xdp
# priv: accept
# unpriv: accept
# why: twin: reloading data/data_end after bpf_xdp_adjust_tail
mov %r6, %r1
mov %r2, 4
call 65
ldxw %r2, [%r6+0]
ldxw %r3, [%r6+4]
mov %r0, 2
mov %r4, %r2
add %r4, 4
jgt %r4, %r3, out
ldxw %r0, [%r2+0]
out:
exit
