# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 offset is outside of the packet
# priv-log: R2 offset is outside of the packet
# why: reading on the side where data + 14 > data_end
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r0, 2
mov %r4, %r2
add %r4, 14
jle %r4, %r3, out
ldxb %r0, [%r2+0]
out:
exit
