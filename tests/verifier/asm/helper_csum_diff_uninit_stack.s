# type: xdp
# priv: accept
# unpriv: reject EACCES
# unpriv-log: invalid read from stack R1 off=-8 size=8
# why: a helper reading stack bytes never written
mov %r1, %r10
add %r1, -8
mov %r2, 8
mov %r3, 0
mov %r4, 0
mov %r5, 0
call 28
mov %r0, 2
exit
