# type: xdp
# priv: accept
# unpriv: accept
# why: ARG_PTR_TO_MEM|MAYBE_NULL with ARG_CONST_SIZE_OR_ZERO: NULL with size 0 is allowed
mov %r1, 0
mov %r2, 0
mov %r3, 0
mov %r4, 0
mov %r5, 0
call 28
mov %r0, 2
exit
