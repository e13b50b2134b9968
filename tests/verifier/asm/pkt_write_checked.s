# type: xdp
# priv: accept
# unpriv: accept
# why: writing the packet in XDP after the check
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r0, 2
mov %r4, %r2
add %r4, 8
jgt %r4, %r3, out
stdw [%r2+0], 0
out:
exit
