# type: tracepoint
# priv: reject EACCES
# unpriv: reject EPERM
# priv-log: invalid bpf_context access off=0 size=8
# why: a tracepoint record's first 8 bytes (common fields) are off limits
ldxdw %r0, [%r1+0]
exit
