# type: xdp
# priv: accept
# unpriv: accept
# why: bpf_xdp_store_bytes writes in place, it does not move the packet: pointers checked before it stay valid
mov %r6, %r1
ldxw %r7, [%r1+0]
ldxw %r8, [%r1+4]
mov %r4, %r7
add %r4, 4
jgt %r4, %r8, out
stdw [%r10-8], 0
mov %r1, %r6
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 8
call 190
ldxw %r0, [%r7+0]
exit
out:
mov %r0, 2
exit
