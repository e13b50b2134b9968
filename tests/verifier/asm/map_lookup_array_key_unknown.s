# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 invalid mem access 'map_value_or_null'
# priv-log: R0 invalid mem access 'map_value_or_null'
# map: name=a type=array key=4 value=8 entries=4
# why: an array lookup with an unknown key may return NULL
ldxw %r3, [%r1+0]
stxw [%r10-4], %r3
mov %r2, %r10
add %r2, -4
lddw %r1, map:a
call 1
ldxdw %r0, [%r0+0]
exit
