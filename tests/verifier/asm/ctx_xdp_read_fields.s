# type: xdp
# priv: accept
# unpriv: accept
# why: XDP may read data, data_end, data_meta, ingress_ifindex, rx_queue_index
ldxw %r2, [%r1+0]
ldxw %r2, [%r1+4]
ldxw %r2, [%r1+8]
ldxw %r2, [%r1+12]
ldxw %r0, [%r1+16]
exit
