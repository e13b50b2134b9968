# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 invalid mem access 'map_value_or_null'
# priv-log: R0 invalid mem access 'map_value_or_null'
# map: name=a type=array key=4 value=8 entries=4
# why: twin: a constant key past max_entries may return NULL, so the check is needed
stw [%r10-4], 4
mov %r2, %r10
add %r2, -4
lddw %r1, map:a
call 1
ldxdw %r0, [%r0+0]
exit
