# type: xdp
# priv: accept
# unpriv: accept
# why: a u32 size with only a signed upper bound is still non-negative
ldxw %r2, [%r1+12]
jsgt %r2, 8, out
stdw [%r10-8], 0
mov %r1, %r10
add %r1, -8
mov %r3, 0
mov %r4, 0
mov %r5, 0
call 28
out:
mov %r0, 2
exit
