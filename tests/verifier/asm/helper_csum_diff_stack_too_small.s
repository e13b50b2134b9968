# type: xdp
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: invalid read from stack R1 off=-8 size=16
# priv-log: invalid read from stack R1 off=-8 size=16
# why: the size runs past the stack buffer (fp-8 with 16 bytes)
stdw [%r10-8], 0
mov %r1, %r10
add %r1, -8
mov %r2, 16
mov %r3, 0
mov %r4, 0
mov %r5, 0
call 28
mov %r0, 2
exit
