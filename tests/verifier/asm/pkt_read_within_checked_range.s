# type: xdp
# priv: accept
# unpriv: accept
# why: twin: a 2-byte read at offset 12 of 14 proven bytes (eth proto)
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r0, 2
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
ldxh %r0, [%r2+12]
out:
exit
