# type: xdp
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R6 leaks addr into map
# map: name=m type=hash key=4 value=8 entries=16
# why: storing a packet pointer into a map value
ldxw %r6, [%r1+0]
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
stxdw [%r0+0], %r6
out:
mov %r0, 2
exit
