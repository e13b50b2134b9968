# type: tracepoint
# priv: accept
# unpriv: reject EPERM
# why: a tracepoint record is readable past its common fields
ldxdw %r0, [%r1+8]
ldxw %r2, [%r1+8188]
exit
