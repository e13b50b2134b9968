# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: math between fp pointer and register with unbounded min value is not allowed
# priv-log: math between fp pointer and register with unbounded min value is not allowed
# why: r0 after LD_ABS of a byte is an unknown scalar: as a stack offset it is unbounded
mov %r6, %r1
.insn 0x30, 0, 0, 0, 0
mov %r2, %r10
add %r2, -256
add %r2, %r0
stb [%r2], 0
mov %r0, 0
exit
