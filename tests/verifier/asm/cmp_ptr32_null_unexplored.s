# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=hash key=4 value=8 entries=16
# why: a 32-bit compare of a non-NULL map value pointer with 0: the kernel decides it like the 64-bit one and never explores the fall-through (which reads an uninitialized register); userbpf explores it (the low half of a pointer can be 0) and rejects
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jne %r0, 0, found
mov %r0, 0
exit
found:
jne32 %r0, 0, ok
mov %r0, %r5
exit
ok:
mov %r0, 0
exit
