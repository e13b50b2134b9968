# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R10 leaks addr into map
# map: name=m type=hash key=4 value=8 entries=16
# why: storing a pointer into a map value leaks it
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
stxdw [%r0+0], %r10
out:
mov %r0, 0
exit
