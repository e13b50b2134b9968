# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R3 pointer arithmetic on pkt_end prohibited
# priv-log: R3 pointer arithmetic on pkt_end prohibited
# why: arithmetic on data_end is prohibited
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
add %r3, -4
mov %r0, 2
exit
