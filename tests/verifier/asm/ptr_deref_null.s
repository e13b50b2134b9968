# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R1 invalid mem access 'scalar'
# priv-log: R1 invalid mem access 'scalar'
# why: dereferencing the constant 0
mov %r1, 0
ldxw %r0, [%r1+0]
exit
