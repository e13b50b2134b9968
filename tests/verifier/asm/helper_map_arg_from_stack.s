# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=hash key=4 value=8 entries=16
# why: a map pointer spilled and filled keeps its type as a helper argument
lddw %r1, map:m
stxdw [%r10-16], %r1
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
ldxdw %r1, [%r10-16]
call 1
mov %r0, 0
exit
