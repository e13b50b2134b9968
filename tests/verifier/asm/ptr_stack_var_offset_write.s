# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R2 variable stack access prohibited for !root, var_off=(0x0; 0x7) off=-16
# why: a store through a stack pointer with a bounded variable offset
ldxw %r3, [%r1+0]
and %r3, 7
mov %r2, %r10
add %r2, -16
add %r2, %r3
stb [%r2+0], 1
mov %r0, 0
exit
