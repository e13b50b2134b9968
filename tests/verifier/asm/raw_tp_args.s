# type: raw_tracepoint
# priv: accept
# unpriv: reject EPERM
# why: raw tracepoint programs read up to 12 u64 arguments
ldxdw %r0, [%r1+0]
ldxdw %r2, [%r1+88]
exit
