# type: xdp
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R2 has pointer with unsupported alu operation, pointer arithmetic with it prohibited for !root
# why: a variable offset (u8) added before the data_end check
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r0, 2
ldxw %r5, [%r1+12]
and %r5, 0xff
add %r2, %r5
mov %r4, %r2
add %r4, 4
jgt %r4, %r3, out
ldxw %r0, [%r2+0]
out:
exit
