# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R2 variable stack access prohibited for !root, var_off=(0x0; 0x4) off=-16
# flags: strict_alignment
# why: a stack store through a variable offset with strict alignment
ldxw %r3, [%r1+0]
and %r3, 4
mov %r2, %r10
add %r2, -16
add %r2, %r3
stw [%r2+0], 1
mov %r0, 0
exit
