# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 unbounded memory access, use 'var &= const' or 'if (var < const)'
# priv-log: R2 unbounded memory access, use 'var &= const' or 'if (var < const)'
# why: ARG_CONST_SIZE from an unbounded scalar
ldxw %r2, [%r1+12]
stdw [%r10-8], 0
mov %r1, %r10
add %r1, -8
mov %r3, 0
mov %r4, 0
mov %r5, 0
call 28
mov %r0, 2
exit
