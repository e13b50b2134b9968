# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 invalid mem access 'scalar'
# priv-log: R0 invalid mem access 'scalar'
# map: name=m type=hash key=4 value=8 entries=16
# why: dereferencing on the NULL side of the check
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jne %r0, 0, out
ldxdw %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
