# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 offset is outside of the packet
# priv-log: R2 offset is outside of the packet
# why: reading before the packet start
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r0, 2
mov %r4, %r2
add %r4, 8
jgt %r4, %r3, out
ldxb %r0, [%r2-1]
out:
exit
