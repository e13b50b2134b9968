# type: xdp
# priv: accept
# unpriv: accept
# why: the check written data_end >= data + 14 (jge with data_end on the left)
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r0, 2
mov %r4, %r2
add %r4, 14
jge %r3, %r4, ok
exit
ok:
ldxh %r0, [%r2+12]
exit
