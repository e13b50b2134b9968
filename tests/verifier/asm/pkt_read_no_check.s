# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 offset is outside of the packet
# priv-log: R2 offset is outside of the packet
# why: reading the packet without comparing against data_end
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
ldxb %r0, [%r2+0]
exit
