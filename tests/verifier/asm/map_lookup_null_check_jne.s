# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=hash key=4 value=8 entries=16
# why: the NULL check written as jne
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jne %r0, 0, found
mov %r0, 0
exit
found:
ldxdw %r0, [%r0+0]
exit
