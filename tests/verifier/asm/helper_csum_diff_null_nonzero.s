# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R1 type=scalar expected=fp
# priv-log: R1 type=scalar expected=fp
# why: NULL with a non-zero size is not
mov %r1, 0
mov %r2, 4
mov %r3, 0
mov %r4, 0
mov %r5, 0
call 28
mov %r0, 2
exit
