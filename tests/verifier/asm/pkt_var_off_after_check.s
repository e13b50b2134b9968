# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 has pointer with unsupported alu operation, pointer arithmetic with it prohibited for !root
# priv-log: R2 offset is outside of the packet
# why: a variable offset added after the check: the proven range is lost
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r0, 2
mov %r4, %r2
add %r4, 64
jgt %r4, %r3, out
ldxw %r5, [%r1+12]
and %r5, 0xf
add %r2, %r5
ldxw %r0, [%r2+0]
out:
exit
