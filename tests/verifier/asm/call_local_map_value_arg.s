# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=hash key=4 value=8 entries=16
# why: a map value passed to a subprogram that writes it
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
mov %r1, %r0
call local f
out:
mov %r0, 0
exit
f:
stdw [%r1+0], 1
mov %r0, 0
exit
