# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 offset is outside of the packet
# priv-log: R2 offset is outside of the packet
# why: the packet range proven on one path only does not hold after the join
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
ldxw %r5, [%r1+12]
mov %r4, %r2
add %r4, 8
jeq %r5, 1, join
jgt %r4, %r3, out
join:
ldxw %r0, [%r2+0]
exit
out:
mov %r0, 2
exit
