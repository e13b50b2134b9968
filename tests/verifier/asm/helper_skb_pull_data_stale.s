# type: sched_cls
# priv: reject EACCES
# priv-log: R7 invalid mem access 'scalar'
# unpriv: reject EACCES
# unpriv-log: R7 !read_ok
# why: bpf_skb_pull_data may move the packet: pointers read before it are forgotten
mov %r6, %r1
ldxw %r7, [%r6+76]
ldxw %r8, [%r6+80]
mov %r4, %r7
add %r4, 14
jgt %r4, %r8, out
mov %r1, %r6
mov %r2, 14
call 39
ldxb %r0, [%r7+0]
out:
mov %r0, 0
exit
