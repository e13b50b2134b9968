# type: xdp
# priv: accept
# unpriv: accept
# why: the check written data_end < data + 14 (jlt)
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r0, 2
mov %r4, %r2
add %r4, 14
jlt %r3, %r4, out
ldxh %r0, [%r2+12]
out:
exit
