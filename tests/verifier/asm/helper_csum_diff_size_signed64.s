# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 min value is negative, either use unsigned or 'var &= const'
# priv-log: R2 min value is negative, either use unsigned or 'var &= const'
# map: name=m type=hash key=4 value=8 entries=16
# why: a 64-bit size with only a signed upper bound may be negative
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxdw %r2, [%r0+0]
jsgt %r2, 8, out
stdw [%r10-16], 0
mov %r1, %r10
add %r1, -16
mov %r3, 0
mov %r4, 0
mov %r5, 0
call 28
out:
mov %r0, 2
exit
