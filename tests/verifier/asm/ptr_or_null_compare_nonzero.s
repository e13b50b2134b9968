# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 pointer comparison prohibited
# priv-log: R0 invalid mem access 'map_value_or_null'
# map: name=m type=hash key=4 value=8 entries=16
# why: comparing a map value or NULL with a non-zero constant is no NULL check
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 1, out
ldxw %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
