# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 pointer arithmetic of map value goes out of range, prohibited for !root
# priv-log: R0 unbounded memory access, make sure to bounds check any such access
# map: name=m type=array key=4 value=64 entries=4
# why: value pointer + 8 - (x & 7): subtracting a variable leaves an offset the kernel treats as unbounded
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxdw %r1, [%r0+0]
and %r1, 7
add %r0, 8
sub %r0, %r1
ldxb %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
