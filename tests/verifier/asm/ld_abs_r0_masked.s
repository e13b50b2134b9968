# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R2 variable stack access prohibited for !root, var_off=(0x0; 0xff) off=-256
# why: r0 after LD_ABS masked to a byte is a bounded stack offset
mov %r6, %r1
.insn 0x20, 0, 0, 0, 0
and %r0, 255
mov %r2, %r10
add %r2, -256
add %r2, %r0
stb [%r2], 0
mov %r0, 0
exit
