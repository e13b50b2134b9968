# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R1 invalid mem access 'scalar'
# priv-log: R1 invalid mem access 'scalar'
# why: a scalar is not a pointer
mov %r1, 4096
ldxw %r0, [%r1+0]
exit
