# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R3 type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_
# priv-log: R3 type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_
# why: a helper may not write into the context as if it were memory
mov %r2, 0
mov %r3, %r1
mov %r4, 4
call 26
mov %r0, 0
exit
