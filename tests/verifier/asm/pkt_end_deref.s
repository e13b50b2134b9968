# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R3 invalid mem access 'pkt_end'
# priv-log: R3 invalid mem access 'pkt_end'
# why: data_end cannot be dereferenced
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
ldxb %r0, [%r3+0]
exit
