# type: xdp
# priv: accept
# unpriv: accept
# why: twin: data + 1 <= data_end proves one readable byte
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r0, 2
mov %r4, %r2
add %r4, 1
jgt %r4, %r3, out
ldxb %r0, [%r2+0]
out:
exit
