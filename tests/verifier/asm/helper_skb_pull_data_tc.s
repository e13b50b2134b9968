# type: sched_cls
# priv: accept
# unpriv: accept
# why: bpf_skb_pull_data, then the packet pointers read again and checked
mov %r6, %r1
mov %r2, 14
call 39
ldxw %r2, [%r6+76]
ldxw %r3, [%r6+80]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
ldxb %r0, [%r2+0]
out:
mov %r0, 0
exit
