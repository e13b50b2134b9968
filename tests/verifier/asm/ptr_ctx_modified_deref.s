# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: dereference of modified ctx ptr R1 off=4 disallowed
# priv-log: dereference of modified ctx ptr R1 off=4 disallowed
# why: the context pointer moved by a constant cannot be dereferenced
add %r1, 4
ldxw %r0, [%r1+0]
exit
