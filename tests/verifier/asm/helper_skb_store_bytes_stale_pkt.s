# type: sched_cls
# priv: reject EACCES
# unpriv: reject EACCES
# priv-log: R6 invalid mem access 'scalar'
# unpriv-log: R6 !read_ok
# why: bpf_skb_store_bytes may move the packet: pointers into it are forgotten after the call
mov %r9, %r1
ldxw %r6, [%r9+76]
ldxw %r7, [%r9+80]
mov %r8, %r6
add %r8, 1
jgt %r8, %r7, done
mov %r2, 0
stxdw [%r10-8], %r2
mov %r1, %r9
mov %r3, %r10
add %r3, -8
mov %r4, 1
mov %r5, 0
call 9
ldxb %r0, [%r6+0]
done:
mov %r0, 0
exit
