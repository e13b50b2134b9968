# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 variable stack access prohibited for !root, var_off=(0x0; 0xffffffff) off=0
# priv-log: invalid unbounded variable-offset write to stack R2
# why: a stack pointer plus an unbounded scalar
ldxw %r3, [%r1+0]
mov %r2, %r10
add %r2, %r3
stb [%r2+0], 1
mov %r0, 0
exit
