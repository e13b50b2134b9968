# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R1 has unknown scalar with mixed signed bounds, pointer arithmetic with it prohibited for !root
# priv-log: R0 min value is negative, either use unsigned index or do a if (index >=0) check.
# map: name=m type=array key=4 value=64 entries=4
# why: a sign-extending load (ldxsb, v4) may be negative
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxsb %r1, [%r0+0]
add %r0, %r1
ldxb %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
