# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_
# priv-log: R2 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_
# map: name=m type=hash key=4 value=8 entries=16
# why: the key argument must point to memory, not a scalar
lddw %r1, map:m
mov %r2, 0
call 1
mov %r0, 0
exit
