# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R2 stack pointer arithmetic goes out of range, prohibited for !root; off=-520
# why: the twin of ld_abs_subprog_exit_r0 without LD_ABS: the callee returns 8, fp-512 is in the stack (root only)
mov %r6, %r1
call local f
mov %r2, %r10
add %r2, -520
add %r2, %r0
stb [%r2], 0
mov %r0, 0
exit
f:
mov %r6, %r1
mov %r0, 8
exit
