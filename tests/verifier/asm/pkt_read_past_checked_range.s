# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 offset is outside of the packet
# priv-log: R2 offset is outside of the packet
# why: 14 bytes proven, a 4-byte read at offset 12 needs 16
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r0, 2
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
ldxw %r0, [%r2+12]
out:
exit
