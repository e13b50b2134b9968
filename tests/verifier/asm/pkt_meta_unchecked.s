# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 offset is outside of the packet
# priv-log: R2 offset is outside of the packet
# why: reading data_meta without a check against data
ldxw %r2, [%r1+8]
ldxw %r0, [%r2+0]
exit
