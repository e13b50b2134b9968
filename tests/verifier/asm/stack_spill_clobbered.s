# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: attempt to corrupt spilled pointer on stack
# priv-log: R2 invalid mem access 'scalar'
# why: a spilled pointer partly overwritten is no longer a pointer
stxdw [%r10-8], %r1
stb [%r10-8], 0
ldxdw %r2, [%r10-8]
ldxw %r0, [%r2+0]
exit
