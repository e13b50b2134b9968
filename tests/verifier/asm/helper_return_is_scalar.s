# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 invalid mem access 'scalar'
# priv-log: R0 invalid mem access 'scalar'
# why: a helper's scalar return value cannot be dereferenced
call 7
ldxw %r0, [%r0+0]
exit
