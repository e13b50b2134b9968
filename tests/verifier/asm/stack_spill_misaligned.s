# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: misaligned stack access off 0+0+-12 size 8
# priv-log: misaligned stack access off 0+0+-12 size 8
# why: spilling a pointer at a misaligned slot
stxdw [%r10-12], %r1
mov %r0, 0
exit
