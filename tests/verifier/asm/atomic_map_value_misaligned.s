# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: misaligned value access off 0+0+2 size 4
# priv-log: misaligned value access off 0+0+2 size 4
# map: name=m type=hash key=4 value=8 entries=16
# why: atomic operations must be aligned even without strict alignment
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
mov %r1, 1
lock add32 [%r0+2], %r1
out:
mov %r0, 0
exit
